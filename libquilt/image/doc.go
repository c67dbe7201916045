// Package image turns container images into OCI runtime bundles.
//
// Unpack reads an image from a path, its format told from its content:
// an OCI image layout (a directory or a tar), a docker-save archive, or a
// root filesystem tarball (tar, tar.gz, tar.xz, tar.zst). It writes
// BUNDLE/config.json, made by imageconfig.FromImage from the image configuration,
// and BUNDLE/rootfs, in one of two ways:
//
//   - From the store (the default, needs root): the layers are unpacked
//     once into a content-addressed store (Options.Root, /var/lib/quilt by
//     default), keyed by diffID and shared between images, and
//     BUNDLE/rootfs is an overlay mount of them with a writable layer of
//     its own in BUNDLE/.quilt. A second bundle of a stored image takes
//     milliseconds, and what one container writes reaches neither another
//     container nor the image.
//   - As a copy (Options.Copy, works without root): the layers are
//     applied one after the other into a plain BUNDLE/rootfs directory.
//
// The overlay is mounted on BUNDLE/rootfs on the host, so that config.json
// keeps the plain root.path "rootfs" every OCI runtime understands and the
// rootfs can be looked at and changed before the container runs. The
// mount does not survive a reboot: BUNDLE/.quilt/rootfs.json records it,
// and Mount mounts it again. Remove unmounts and deletes a bundle.
//
// Unpack never changes a bundle that exists (a config.json, a non-empty
// rootfs) and, when it fails, removes everything it made.
package image
