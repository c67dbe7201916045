// Package libquilt is Quilt's container library: it turns an OCI bundle into
// a container and drives it through its lifecycle (create, start, state,
// signal, delete) on top of runc's libcontainer, which no other package of
// Quilt imports.
//
// Each container lives in a state directory under a root (default
// /run/quilt): libcontainer's state.json, Quilt's own quilt.json (bundle,
// annotations and the hooks Quilt runs itself), and the exec fifo while the
// container waits for start. Every mutating operation holds a per-container
// file lock, so two processes never change one container at once.
package libquilt
