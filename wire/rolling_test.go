package wire

import (
	"bytes"
	"errors"
	"testing"
)

// rollSums builds a RollSums offering block i when offer(i).
func rollSums(first uint64, count int, offer func(int) bool) *RollSums {
	s := &RollSums{First: first, Count: uint32(count)}
	if count > 0 {
		s.Offer = make([]bool, count)
	}
	n := 0
	for i := range s.Offer {
		if s.Offer[i] = offer(i); s.Offer[i] {
			n++
		}
	}
	if n > 0 {
		s.Anchor, s.Weak, s.N = hashes(n), hashes(n), make([]uint32, n)
		for i := range s.N {
			s.N[i] = uint32(i%MaxBlockSize) + 1
		}
	}
	return s
}

// rollingSamples are valid messages of the search for moved data.
func rollingSamples() []Message {
	return []Message{
		&RollSums{First: 3},
		rollSums(0, 1, func(int) bool { return true }),
		rollSums(9, 13, func(i int) bool { return i%4 == 1 }),
		rollSums(1<<40, MaxBatch, func(i int) bool { return i%2 == 0 }),
		&CopyFrom{Block: 7, Offset: 100, N: 4000, Src: 1 << 30, Strong: strongs(1)[0]},
		&CopyFrom{Block: 1<<64 - 1, Offset: 0, N: MaxBlockSize, Src: 1 << 62},
		&Literal{Block: 2, Offset: 0, Bytes: []byte{1}},
		&Literal{Block: 3, Offset: MaxBlockSize - 4096, Bytes: seq(4096, 6)},
		&Refused{Block: 1<<64 - 1},
		&Refused{},
		&RollEnd{Blocks: 12, Bytes: 1 << 40},
		&RollEnd{},
		&Unasked{First: 5, Count: 4},
		&Unasked{First: 1<<64 - 1 - MaxBatch, Count: MaxBatch},
	}
}

func TestRollingInvalid(t *testing.T) {
	for _, tt := range []struct {
		m    Message
		want error
	}{
		{&RollSums{Count: MaxBatch + 1}, ErrTooLarge},
		{&RollSums{First: 1<<64 - 1, Count: 1, Offer: []bool{false}}, ErrInvalid},
		{&RollSums{Count: 2, Offer: []bool{true}}, ErrInvalid},
		{&RollSums{Count: 1, Offer: []bool{true}}, ErrInvalid},
		{&RollSums{Count: 1, Offer: []bool{false}, Anchor: hashes(1), Weak: hashes(1), N: []uint32{1}}, ErrInvalid},
		{&RollSums{Count: 1, Offer: []bool{true}, Anchor: hashes(1), Weak: hashes(1), N: []uint32{0}}, ErrInvalid},
		{&RollSums{Count: 1, Offer: []bool{true}, Anchor: hashes(1), Weak: hashes(1), N: []uint32{MaxBlockSize + 1}}, ErrInvalid},
		{&CopyFrom{N: 0}, ErrInvalid},
		{&CopyFrom{N: MaxBlockSize + 1}, ErrInvalid},
		{&CopyFrom{Offset: 1, N: MaxBlockSize}, ErrInvalid},
		{&CopyFrom{N: 1, Src: 1<<62 + 1}, ErrInvalid},
		{&Literal{}, ErrInvalid},
		{&Literal{Offset: MaxBlockSize, Bytes: []byte{1}}, ErrInvalid},
		{&Unasked{First: 3}, ErrInvalid},
		{&Unasked{Count: MaxBatch + 1}, ErrTooLarge},
		{&Unasked{First: 1<<64 - 1, Count: 1}, ErrInvalid},
	} {
		if err := tt.m.(validator).Validate(); !errors.Is(err, tt.want) {
			t.Errorf("%T %+v: Validate = %v, want %v", tt.m, tt.m, err, tt.want)
		}
		var buf bytes.Buffer
		if err := WriteFrame(&buf, tt.m); !errors.Is(err, tt.want) {
			t.Errorf("%T: WriteFrame = %v, want %v", tt.m, err, tt.want)
		}
		// The encoding of an invalid message is refused by the decoder too.
		if _, err := Decode(tt.m.Type(), tt.m.Append(nil)); err == nil {
			t.Errorf("%T %+v: decoded", tt.m, tt.m)
		}
	}
}

// TestRollSumsBitsPastCount: a bitmap bit past Count is refused.
func TestRollSumsBitsPastCount(t *testing.T) {
	b := rollSums(0, 3, func(int) bool { return false }).Append(nil)
	b[rollSumsBitmapOff] |= 1 << 5
	if _, err := Decode(TypeRollSums, b); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Decode = %v, want ErrInvalid", err)
	}
}

// TestLiteralCopiesPayload: a decoded Literal does not alias the frame.
func TestLiteralCopiesPayload(t *testing.T) {
	b := (&Literal{Block: 1, Bytes: []byte{1, 2, 3}}).Append(nil)
	m, err := Decode(TypeLiteral, b)
	if err != nil {
		t.Fatal(err)
	}
	b[literalBytesOff] = 9
	if got := m.(*Literal).Bytes[0]; got != 1 {
		t.Fatalf("Literal aliases its payload: %d", got)
	}
}
