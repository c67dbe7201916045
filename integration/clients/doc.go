// Package clients holds the tests that drive a runtime binary through the
// real container clients: containerd (ctr), Docker, podman and the
// Kubernetes CRI (containerd's CRI plugin and crictl). Each client is
// configured as the documents in docs/ say, and runs privately: its own
// daemon, root, state, sockets, configuration, cgroup parent and bridge in
// a work directory of its own, offline, with busybox and pause images that
// the tests write themselves.
//
// They need root:
//
//	go test -tags seccomp ./integration/clients/ -v                                   # builds ./cmd/quilt
//	QUILT_BINARY=bin/quilt go test -tags seccomp ./integration/clients/ -v            # a built quilt
//	QUILT_TEST_RUNTIME=/usr/sbin/runc go test -tags seccomp ./integration/clients/ -v # any runtime
//
// The clients call the runtime through a wrapper script that logs each call
// (see wrapper_test.go), so that a test can tell that the client did call
// it, with which --root, and that the default CRI handler does not.
//
// A client whose binaries are not installed is skipped. The Debian packages
// are containerd, runc, docker.io, podman, conmon, netavark,
// containernetworking-plugins, iproute2 and busybox-static; crictl is built
// once with the go command into /var/cache/quilt-test/gobin unless it is on
// PATH. Only one run at a time: a lock file serialises concurrent runs, and
// each run first removes what an aborted run may have left behind.
package clients
