package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonOptions write messages in the API's JSON mapping (lowerCamelCase
// names, RFC 3339 times), with every field, set or not.
var jsonOptions = protojson.MarshalOptions{EmitUnpopulated: true}

// writeJSONLine writes m as one line of compact JSON.
func writeJSONLine(w io.Writer, m proto.Message) error {
	b, err := jsonOptions.Marshal(m)
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return fmt.Errorf("json: %w", err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// writeJSONArray writes ms as an indented JSON array.
func writeJSONArray[M proto.Message](w io.Writer, ms []M) error {
	raw := make([]json.RawMessage, 0, len(ms))
	for _, m := range ms {
		b, err := jsonOptions.Marshal(m)
		if err != nil {
			return fmt.Errorf("json: %w", err)
		}
		raw = append(raw, b)
	}
	return writeIndented(w, raw)
}

// writeIndented writes v as indented JSON.
func writeIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
