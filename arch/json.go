package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ReadFile reads and validates a network's JSON form from a file.
func ReadFile(path string) (*Network, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(data, path)
}

// Decode parses and validates a network's JSON form. source names the input
// in errors (a file name); every error carries source:line:column, and
// errors about a block also carry its index and the field.
func Decode(data []byte, source string) (*Network, error) {
	if source == "" {
		source = "<input>"
	}
	d := &decoder{data: data, source: source, dec: json.NewDecoder(bytes.NewReader(data))}
	n, err := d.network()
	if err != nil {
		return nil, err
	}
	if n.Format == "" {
		return nil, d.errAt(0, "field \"format\": missing; a network file starts with \"format\": %q", Format)
	}
	if err := n.validateFields(); err != nil {
		return nil, d.wrap(err)
	}
	if _, err := n.Lower(0); err != nil {
		return nil, d.wrap(err)
	}
	return n, nil
}

type decoder struct {
	data    []byte
	source  string
	dec     *json.Decoder
	offsets []int64 // start offset of each block
	fields  map[string]int64
}

// pos converts a byte offset to "source:line:col".
func (d *decoder) pos(off int64) string {
	if off > int64(len(d.data)) {
		off = int64(len(d.data))
	}
	line, col := 1, 1
	for _, c := range d.data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("%s:%d:%d", d.source, line, col)
}

func (d *decoder) errAt(off int64, format string, args ...any) error {
	return fmt.Errorf("%s: %s", d.pos(off), fmt.Sprintf(format, args...))
}

// wrap gives a validation error the position of its block or field.
func (d *decoder) wrap(err error) error {
	var be *BlockError
	if errors.As(err, &be) && be.Index < len(d.offsets) {
		return fmt.Errorf("%s: %w", d.pos(d.offsets[be.Index]), err)
	}
	msg := err.Error()
	for f, off := range d.fields {
		if strings.HasPrefix(msg, fmt.Sprintf("field %q", f)) {
			return fmt.Errorf("%s: %w", d.pos(off), err)
		}
	}
	return fmt.Errorf("%s: %w", d.source, err)
}

func (d *decoder) jsonErr(err error, base int64) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return d.errAt(base+se.Offset, "invalid JSON: %v", se)
	case errors.As(err, &te):
		return d.errAt(base+te.Offset, "field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return d.errAt(int64(len(d.data)), "invalid JSON: unexpected end of input")
	}
	return d.errAt(base+d.dec.InputOffset(), "invalid JSON: %v", err)
}

func (d *decoder) delim(want json.Delim, what string) error {
	off := d.dec.InputOffset()
	tok, err := d.dec.Token()
	if err != nil {
		return d.jsonErr(err, 0)
	}
	if t, ok := tok.(json.Delim); !ok || t != want {
		return d.errAt(off, "%s: expected %q, got %v", what, want, tok)
	}
	return nil
}

var topFields = []string{"format", "name", "resolution", "input_channels", "divisor", "blocks"}

func (d *decoder) network() (*Network, error) {
	n := &Network{}
	d.fields = map[string]int64{}
	if err := d.delim('{', "a network"); err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	for d.dec.More() {
		off := d.dec.InputOffset()
		tok, err := d.dec.Token()
		if err != nil {
			return nil, d.jsonErr(err, 0)
		}
		key, _ := tok.(string)
		if _, dup := d.fields[key]; dup {
			return nil, d.errAt(off, "field %q appears twice", key)
		}
		d.fields[key] = off
		var target any
		switch key {
		case "format":
			target = &n.Format
		case "name":
			target = &n.Name
		case "resolution":
			target = &n.Resolution
		case "input_channels":
			target = &n.InputChannels
		case "divisor":
			target = &n.Divisor
		case "blocks":
			if err := d.delim('[', "field \"blocks\""); err != nil {
				return nil, err
			}
			for d.dec.More() {
				start := d.dec.InputOffset()
				var raw json.RawMessage
				if err := d.dec.Decode(&raw); err != nil {
					return nil, d.jsonErr(err, 0)
				}
				// InputOffset points before the separating comma and
				// blanks; skip them so the position is the block's '{'.
				for start < int64(len(d.data)) && strings.IndexByte(", \t\r\n", d.data[start]) >= 0 {
					start++
				}
				d.offsets = append(d.offsets, start)
				raws = append(raws, raw)
			}
			if err := d.delim(']', "field \"blocks\""); err != nil {
				return nil, err
			}
			continue
		default:
			return nil, d.errAt(off, "unknown field %q; a network has %s", key, strings.Join(topFields, ", "))
		}
		if err := d.dec.Decode(target); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return nil, d.errAt(off, "field %q: expected %s, got JSON %s", key, te.Type, te.Value)
			}
			return nil, d.jsonErr(err, 0)
		}
	}
	if err := d.delim('}', "a network"); err != nil {
		return nil, err
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, d.errAt(d.dec.InputOffset(), "unexpected data after the network's closing brace")
	}
	n.Blocks = make([]Block, len(raws))
	for i, raw := range raws {
		if err := d.block(i, raw, &n.Blocks[i]); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (d *decoder) block(i int, raw json.RawMessage, b *Block) error {
	pos := d.pos(d.offsets[i])
	var head struct {
		Type Kind `json:"type"`
	}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("null")) || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return fmt.Errorf("%s: %w", pos, &BlockError{Index: i, Msg: "a block must be a JSON object"})
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return fmt.Errorf("%s: %w", pos, &BlockError{Index: i, Field: "type", Msg: "must be a string naming the block type; one of " + kindNames()})
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(b)
	if err == nil {
		return nil
	}
	be := &BlockError{Index: i, Type: head.Type}
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		be.Field = te.Field
		be.Msg = fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		be.Field = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if f, ok := fieldsOf[head.Type]; ok {
			be.Msg = fmt.Sprintf("unknown field; a %s block has: type, %s", head.Type, strings.Join(sorted(f), ", "))
		} else {
			be.Msg = "unknown field"
		}
	default:
		be.Msg = err.Error()
	}
	return fmt.Errorf("%s: %w", pos, be)
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c
}

// Encode writes the network's JSON form: one block per line, so that a
// network reads (and diffs) like the tables in the MobileNet papers.
func (n *Network) Encode() ([]byte, error) {
	var buf bytes.Buffer
	head := *n
	head.Format = Format
	head.Blocks = nil
	type top struct {
		Format        string `json:"format"`
		Name          string `json:"name,omitempty"`
		Resolution    int    `json:"resolution"`
		InputChannels int    `json:"input_channels,omitempty"`
		Divisor       int    `json:"divisor,omitempty"`
	}
	t, err := json.MarshalIndent(top{head.Format, head.Name, head.Resolution, head.InputChannels, head.Divisor}, "", "  ")
	if err != nil {
		return nil, err
	}
	buf.Write(bytes.TrimSuffix(t, []byte("\n}")))
	buf.WriteString(",\n  \"blocks\": [\n")
	for i, b := range n.Blocks {
		line, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", i, err)
		}
		buf.WriteString("    ")
		buf.Write(line)
		if i < len(n.Blocks)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("  ]\n}\n")
	return buf.Bytes(), nil
}
