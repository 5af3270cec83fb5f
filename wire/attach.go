package wire

import "encoding/binary"

// Attach layout.
const (
	attachSessionOff = 0
	attachWorkerOff  = attachSessionOff + SessionIDSize
	attachLen        = attachWorkerOff + sizeU16
)

func (*Attach) Type() Type { return TypeAttach }

func (*Attach) Len() int { return attachLen }

func (a *Attach) Append(b []byte) []byte {
	b = append(b, a.SessionID[:]...)
	return binary.BigEndian.AppendUint16(b, a.Worker)
}

// Validate checks Worker < MaxWorkers: workers are numbered from 0. Whether
// it is below the session's accepted worker count is the agent's check.
func (a *Attach) Validate() error {
	if a.Worker >= MaxWorkers {
		return errInvalid(TypeAttach, "worker %d outside [0, %d)", a.Worker, MaxWorkers)
	}
	return nil
}

func parseAttach(b []byte) (*Attach, int, error) {
	if len(b) < attachLen {
		return nil, 0, errTruncated(TypeAttach, attachLen, len(b))
	}
	a := &Attach{Worker: binary.BigEndian.Uint16(b[attachWorkerOff:])}
	copy(a.SessionID[:], b[attachSessionOff:attachWorkerOff])
	if err := a.Validate(); err != nil {
		return nil, 0, err
	}
	return a, attachLen, nil
}
