package nixfix

import "bytes"

// ShebangMax is how many bytes of a file the kernel reads to find a "#!"
// line (BINPRM_BUF_SIZE since Linux 5.1). The last byte is reserved, so a
// line may use ShebangMax-1 bytes.
const ShebangMax = 256

// Shebang is a parsed "#!" line.
type Shebang struct {
	// Interpreter is the interpreter path as written, e.g.
	// "/nix/store/<h>-bash-5.2p37/bin/bash" or "/usr/bin/env".
	Interpreter string
	// Arg is the optional single argument ("bash" in "#!/usr/bin/env bash");
	// like the kernel, everything after the interpreter is one argument.
	Arg string
}

// ParseShebang parses the start of a file the way Linux's binfmt_script
// does. head is the file's first ShebangMax bytes, or the whole file when it
// is shorter (the kernel pads the buffer with NULs). It reports false when
// the kernel would not run the file as a script: no "#!", no interpreter
// name, or an interpreter name cut off by the end of the buffer.
func ParseShebang(head []byte) (Shebang, bool) {
	padded := len(head) < ShebangMax-1
	if !padded {
		head = head[:ShebangMax-1]
	}
	if !bytes.HasPrefix(head, []byte("#!")) {
		return Shebang{}, false
	}
	line := head[2:]
	if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	} else {
		// No newline within the buffer: the line continues past it. The
		// kernel accepts that only if the interpreter name ends inside
		// the buffer (a blank, tab or NUL follows it).
		name := bytes.TrimLeft(line, " \t")
		if len(name) == 0 || !padded && bytes.IndexAny(name, " \t\x00") < 0 {
			return Shebang{}, false
		}
	}
	line = bytes.TrimRight(bytes.TrimLeft(line, " \t"), " \t")
	if len(line) == 0 {
		return Shebang{}, false
	}
	interp, rest := line, []byte(nil)
	if i := bytes.IndexAny(line, " \t\x00"); i >= 0 {
		interp, rest = line[:i], line[i:]
	}
	if len(interp) == 0 {
		return Shebang{}, false
	}
	var arg []byte
	if len(rest) > 0 && rest[0] != 0 {
		arg = bytes.TrimLeft(rest, " \t")
		if i := bytes.IndexByte(arg, 0); i >= 0 {
			arg = arg[:i] // the argument is a C string
		}
	}
	return Shebang{Interpreter: string(interp), Arg: string(arg)}, true
}
