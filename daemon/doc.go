// Package daemon is quiltd: it keeps imported images and runs containers
// from them through libquilt, in-process, and serves both over the gRPC API
// of api/quilt/v1.
//
// Every container runs quilt-init (cmd/quilt-init) as its PID 1. quilt-init
// writes the container's output straight to its log file, records the exit
// status in a file and runs exec'd processes on request over a unix socket,
// so that a container keeps running, logging and exiting properly while
// quiltd is down; quiltd reads it all back when it starts again. See
// docs/design.md.
//
// Layout on disk: Config.Root (persistent, /var/lib/quilt) holds the image
// store and containers/ID/{container.json, container.log, exit.json,
// bundle/}; Config.State (runtime, /run/quilt/quiltd) holds libquilt's
// container state (runtime/), the exec sockets (s/) and quiltd.lock.
package daemon
