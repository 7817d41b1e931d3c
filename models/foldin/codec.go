package foldin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// magic starts every encoded Model; its last byte is the format version.
const magic = "MQFOLD\x00\x01"

// MarshalBinary encodes m. The encoding is the magic, kind, feedback and
// flags, then the settings as little-endian float64s and the training time
// in Unix milliseconds. The item count and factors follow as uvarints, then
// each item ID after its length, and the factors and biases as
// little-endian float32s.
func (m *Model) MarshalBinary() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	size := len(magic) + 3 + 6*8 + 2*binary.MaxVarintLen64 + 4*(len(m.Vectors)+len(m.Bias))
	for _, id := range m.Items {
		size += binary.MaxVarintLen64 + len(id)
	}
	b := make([]byte, 0, size)
	b = append(b, magic...)
	b = append(b, byte(m.Kind), byte(m.Feedback), flags(m.Binary, m.LogScale))
	for _, v := range []float64{m.Mean, m.Reg, m.BiasReg, m.Alpha, m.Epsilon} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(m.TrainedUntil.UnixMilli()))
	b = binary.AppendUvarint(b, uint64(len(m.Items)))
	b = binary.AppendUvarint(b, uint64(m.Factors))
	for _, id := range m.Items {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	for _, v := range m.Vectors {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	for _, v := range m.Bias {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b, nil
}

func flags(binaryValues, logScale bool) byte {
	var f byte
	if binaryValues {
		f |= 1
	}
	if logScale {
		f |= 2
	}
	return f
}

// Unmarshal decodes a Model written by MarshalBinary and prepares it.
func Unmarshal(b []byte) (*Model, error) {
	m, err := decode(b)
	if err == nil {
		err = m.Prepare()
	}
	if err != nil {
		return nil, fmt.Errorf("foldin: decode model: %w", err)
	}
	return m, nil
}

// reader reads the encoding from the front of a byte slice.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errors.New("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) uvarint(limit uint64) int {
	v, n := binary.Uvarint(r.b)
	if r.err == nil && (n <= 0 || v > limit) {
		r.err = errors.New("malformed count")
	}
	if r.err != nil {
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *reader) float32s(n int) []float32 {
	raw := r.take(4 * n)
	if r.err != nil {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func decode(b []byte) (*Model, error) {
	r := &reader{b: b}
	if string(r.take(len(magic))) != magic {
		return nil, errors.New("not a fold-in model of a known version")
	}
	head := r.take(3 + 6*8)
	if r.err != nil {
		return nil, r.err
	}
	m := &Model{Kind: Kind(head[0]), Feedback: Feedback(head[1]), Binary: head[2]&1 != 0, LogScale: head[2]&2 != 0}
	nums := make([]float64, 5)
	for i := range nums {
		nums[i] = math.Float64frombits(binary.LittleEndian.Uint64(head[3+8*i:]))
	}
	m.Mean, m.Reg, m.BiasReg, m.Alpha, m.Epsilon = nums[0], nums[1], nums[2], nums[3], nums[4]
	m.TrainedUntil = time.UnixMilli(int64(binary.LittleEndian.Uint64(head[3+40:]))).UTC()

	n := r.uvarint(uint64(len(b)))
	m.Factors = r.uvarint(1024)
	m.Items = make([]string, 0, min(n, len(b)))
	for range n {
		m.Items = append(m.Items, string(r.take(r.uvarint(uint64(len(b))))))
	}
	if r.err == nil && n*m.Factors > len(r.b)/4 {
		return nil, errors.New("truncated factors")
	}
	m.Vectors = r.float32s(n * m.Factors)
	if m.Kind == Explicit {
		m.Bias = r.float32s(n)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes after the model", len(r.b))
	}
	return m, r.err
}
