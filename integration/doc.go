// Package integration holds the tests that drive a runtime binary through
// its runc-compatible command line against real containers: lifecycle,
// state, hooks, resources, mounts, process settings, terminals and every
// error case, each checking that nothing is left behind.
//
// They need root and run unchanged against quilt and runc:
//
//	go test -count=1 ./integration/                                   # builds ./cmd/quilt
//	QUILT_TEST_RUNTIME=/usr/sbin/runc go test -count=1 ./integration/ # any runtime
//
// Tests of behaviour where runc 1.1.5 is known to break the spec skip when
// the runtime's base name is runc. With -short, or without root, every test
// skips. Containers run the static program in testinit/ from a busybox
// rootfs built in each test's temp dir (Debian's busybox-static), in a
// private cgroup parent that the run removes.
package integration
