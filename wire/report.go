package wire

import "encoding/binary"

// Report layout.
const (
	reportReadOff  = 0
	reportCacheOff = reportReadOff + sizeU64
	reportLen      = reportCacheOff + sizeU8
)

// How a side used its block-hash cache (Report.Cache).
const (
	CacheUnknown uint8 = iota // the side did not say
	CacheOff                  // no cache, --no-cache, or a file it cannot trust
	CacheMiss                 // no usable record
	CacheStale                // a record the file no longer matched
	CacheHit                  // the record's hashes were used
	CacheResume               // an interrupted sync's journal was used
	maxCache     = CacheResume
)

func (*Report) Type() Type { return TypeReport }

func (*Report) Len() int { return reportLen }

func (r *Report) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, r.Read)
	return append(b, r.Cache)
}

// Validate checks that Cache is a known value.
func (r *Report) Validate() error {
	if r.Cache > maxCache {
		return errInvalid(TypeReport, "cache use %d", r.Cache)
	}
	return nil
}

func parseReport(b []byte) (*Report, int, error) {
	if len(b) < reportLen {
		return nil, 0, errTruncated(TypeReport, reportLen, len(b))
	}
	r := &Report{Read: binary.BigEndian.Uint64(b[reportReadOff:]), Cache: b[reportCacheOff]}
	if err := r.Validate(); err != nil {
		return nil, 0, err
	}
	return r, reportLen, nil
}
