package shell

import (
	"fmt"
	"strings"
)

// options is the result of parsing a utility's command line with getopt.
type options struct {
	set    map[byte]bool
	values map[byte][]string
}

func (o options) has(c byte) bool { return o.set[c] }

// value returns the last value given for an option that takes one.
func (o options) value(c byte) (string, bool) {
	v := o.values[c]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// getopt parses POSIX utility options. flags lists the single-letter
// options without a value, valued those that take one ("n" for -n 5 or
// -n5). Options may be grouped (-rf); parsing stops at "--", at "-" and at
// the first operand. It returns the options and the operands.
func getopt(args []string, flags, valued string) (options, []string, error) {
	o := options{set: map[byte]bool{}, values: map[byte][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return o, args[i+1:], nil
		}
		if len(a) < 2 || a[0] != '-' {
			return o, args[i:], nil
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch {
			case strings.IndexByte(flags, c) >= 0:
				o.set[c] = true
			case strings.IndexByte(valued, c) >= 0:
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return o, nil, fmt.Errorf("option -%c needs a value: %w", c, ErrUsage)
					}
					i++
					v = args[i]
				}
				o.set[c] = true
				o.values[c] = append(o.values[c], v)
				j = len(a)
			default:
				return o, nil, fmt.Errorf("unknown option -%c: %w", c, ErrUsage)
			}
		}
	}
	return o, nil, nil
}
