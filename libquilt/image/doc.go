// Package image turns container images into OCI runtime bundles.
//
// Unpack reads an image from a path, its format told from its content:
// an OCI image layout (a directory or a tar), a docker-save archive, or a
// root filesystem tarball (tar, tar.gz, tar.xz, tar.zst). It writes
// BUNDLE/config.json, made by imageconfig.FromImage from the image configuration,
// and BUNDLE/rootfs, in one of two ways:
//
//   - From the store (the default, needs root): the image is imported
//     into a content-addressed store (Options.Root, /var/lib/quilt by
//     default), as Import does, and BUNDLE/rootfs is an overlay mount of
//     its layers with a writable layer of its own in BUNDLE/.quilt, as
//     BundleFromStored makes. A second bundle of a stored image takes
//     about a millisecond, and what one container writes reaches neither
//     another container nor the image.
//   - As a copy (Options.Copy, works without root): the layers are
//     applied one after the other into a plain BUNDLE/rootfs directory.
//
// # The store
//
// Import puts an image into the store once; BundleFromStored then makes
// any number of bundles of it without the image file. The store lives in
// ROOT/image:
//
//   - layers/sha256/<diffID hex>: each layer unpacked once, with overlayfs
//     whiteouts, shared by every image that has it. A layer is unpacked in
//     tmp/ and renamed into place, so layers/ never holds half a layer.
//   - images/<hex>.json: the record of an image (Stored), named by its
//     digest (the manifest's for an OCI layout, the configuration's for a
//     docker-save archive, the file's for a rootfs tarball): the paths it
//     was imported from, its format, its layers' diffIDs bottom first, its
//     unpacked size, when it was imported and its configuration. It is
//     written (temp file, fsync, rename) only once its layers are in the
//     store and synced, so a record always has its layers. Importing the
//     image again only adds the new path to its names.
//   - rootfs/sha256/<file hex>: the diffID of a rootfs tarball's layer.
//   - locks/: flock(2) locks. Imports and bundles share images.lock;
//     RemoveStored takes it alone, so that it never deletes a layer that
//     an import or a bundle being made uses. A layer's lock keeps two
//     imports from unpacking it together, an image's lock serializes the
//     changes to its record.
//
// ListStored, LoadStored, Stored.AddName and RemoveStored manage the
// records. RemoveStored deletes a record and then the layers no other
// record names; the caller must not remove an image whose bundles are
// still mounted.
//
// # Bundles
//
// The overlay is mounted on BUNDLE/rootfs on the host, so that config.json
// keeps the plain root.path "rootfs" every OCI runtime understands and the
// rootfs can be looked at and changed before the container runs. The
// mount does not survive a reboot: BUNDLE/.quilt/rootfs.json records it,
// and Mount mounts it again. Remove unmounts and deletes a bundle.
//
// Unpack and BundleFromStored never change a bundle that exists (a
// config.json, a non-empty rootfs) and, when they fail, remove everything
// they made.
package image
