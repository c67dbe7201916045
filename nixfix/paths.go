package nixfix

import (
	"path"
	"sort"
	"strings"
)

// In-root paths of the shell provisioning and of the report.
const (
	quiltDir         = "/.quilt"
	quiltBinDir      = "/.quilt/bin"
	shellPlaceholder = "/.quilt/bin/sh"
	shellEnvLink     = "/.quilt/bin/env"
	inRootReport     = "/.quilt/nixfix.json"
)

// joinIn joins in-root components to an absolute path ("/" for none).
func joinIn(comps []string) string { return "/" + strings.Join(comps, "/") }

// splitIn splits an in-root path into its components, dropping empty ones.
func splitIn(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// relPath is the relative link target that leads from the directory
// fromDir to the path to; both are clean absolute in-root paths without
// symlinks.
func relPath(fromDir, to string) string {
	f, t := splitIn(fromDir), splitIn(to)
	i := 0
	for i < len(f) && i < len(t) && f[i] == t[i] {
		i++
	}
	var parts []string
	for range f[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, t[i:]...)
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

// under reports whether p is dir or lies below it.
func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

func cleanIn(p string) string { return path.Clean("/" + p) }

func sortStrings(s []string) { sort.Strings(s) }
