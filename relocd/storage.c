/*
 * Where the copies of an incoming domain's disks go (xmig migrate
 * --copy-storage), decided here, as root, from this host's
 * configuration alone: the source only offers its disks (path, size,
 * allocated bytes), and every field of the offer came over the network.
 *
 * The rule: a disk whose path is under incoming_disk_paths keeps its
 * path; any other goes, under the same file name, into the first entry
 * of incoming_disk_paths that is a directory (ends in "/" and exists).
 * A target that exists is never overwritten: a stale copy left by an
 * earlier move, or shared storage the operator did not mean to copy,
 * both refuse the migration with a message that says so.  The copies
 * must fit: their allocated bytes, per filesystem, within what statvfs
 * says is free for an unprivileged writer (the root reserve is left).
 *
 * A block device (the offer says "kind": "block"; a source offers only
 * an LV of a VG it alone uses, storage_offer) goes into a new LV of
 * incoming_volume_group named after the source's last path component,
 * /dev/VG/NAME, made by the helper (helper_recv.c) with lvm_command.
 * One whose path exists here as a block device the incoming policy
 * allows as is (under incoming_disk_paths, or in that VG) is a stale
 * copy, shared storage LVM does not say is shared, or an older source's
 * offer of a LUN: refused, never copied over itself, as a file that
 * exists is.  The LVs must fit: their whole sizes (LVs are
 * thick), rounded up to the VG's extents, within the VG's free bytes.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diskcopy.h"
#include "domcfg.h"
#include "helper.h"
#include "log.h"
#include "relocd.h"

static const char *storage_dir_for(const struct relocd_conf *, const char *,
		    char *, size_t);
static int	storage_target(const struct relocd_conf *, const char *,
		    char *, size_t, char *, size_t);
static int	storage_lv_target(const struct relocd_conf *, const char *,
		    char *, size_t, char *, size_t);

/* The directory a copy of SRC goes to when its own path is not allowed:
 * the first incoming_disk_paths entry that is a directory. */
static const char *
storage_dir_for(const struct relocd_conf *conf, const char *src, char *buf,
    size_t len)
{
	struct stat st;
	size_t i, n;

	for (i = 0; conf->incoming_disk_paths != NULL &&
	    conf->incoming_disk_paths[i] != NULL; i++) {
		n = strlen(conf->incoming_disk_paths[i]);
		if (n == 0 || conf->incoming_disk_paths[i][n - 1] != '/')
			continue;
		if (stat(conf->incoming_disk_paths[i], &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			snprintf(buf, len, "%s", conf->incoming_disk_paths[i]);
			return buf;
		}
	}
	return NULL;
}

/* The target of a copy of SRC into TARGET: 0, or -1 with the reason. */
static int
storage_target(const struct relocd_conf *conf, const char *src, char *target,
    size_t tlen, char *why, size_t whylen)
{
	char dir[PATH_MAX], real[PATH_MAX + 2], *slash;
	const char *base;

	if (src[0] != '/' || strstr(src, "/../") != NULL ||
	    strlen(src) >= PATH_MAX - 1) {
		snprintf(why, whylen, "%.200s is not an absolute path", src);
		return -1;
	}
	if (domcfg_path_in(src, conf->incoming_disk_paths))
		snprintf(target, tlen, "%s", src);
	else {
		base = strrchr(src, '/') + 1;
		if (*base == '\0' || strcmp(base, ".") == 0 ||
		    strcmp(base, "..") == 0) {
			snprintf(why, whylen, "%.200s names no file", src);
			return -1;
		}
		if (storage_dir_for(conf, src, dir, sizeof(dir)) == NULL) {
			snprintf(why, whylen, "%.200s is not under "
			    "incoming_disk_paths, and no entry of it is a "
			    "directory (ending in /) to copy it into", src);
			return -1;
		}
		if ((size_t)snprintf(target, tlen, "%s%s", dir, base) >= tlen) {
			snprintf(why, whylen, "the copy of %.200s would have "
			    "too long a path", src);
			return -1;
		}
	}
	/* Its directory, resolved, is inside the allowed tree: a symbolic
	 * link there must not carry the copy elsewhere. */
	snprintf(dir, sizeof(dir), "%s", target);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	if (realpath(dir, real) == NULL) {
		snprintf(why, whylen, "the directory of %.200s: %s", target,
		    strerror(errno));
		return -1;
	}
	if (!hostinfo_real_inside(conf, real) &&
	    !hostinfo_real_inside(conf, strcat(real, "/"))) {
		snprintf(why, whylen, "the directory of %.200s resolves "
		    "outside incoming_disk_paths (a symbolic link)", target);
		return -1;
	}
	return 0;
}

/* The LV a copy of the block device SRC becomes: 0, or -1 with the
 * reason. */
static int
storage_lv_target(const struct relocd_conf *conf, const char *src,
    char *target, size_t tlen, char *why, size_t whylen)
{
	const char *vg = conf->incoming_volume_group, *base;
	struct stat st;

	if (src[0] != '/' || strstr(src, "/../") != NULL ||
	    strlen(src) >= PATH_MAX - 1) {
		snprintf(why, whylen, "%.200s is not an absolute path", src);
		return -1;
	}
	if (stat(src, &st) == 0 && S_ISBLK(st.st_mode) &&
	    (domcfg_path_in(src, conf->incoming_disk_paths) ||
	    conf_vg_path(conf, src))) {
		snprintf(why, whylen, "%.200s is present here as a block "
		    "device and is never copied over: if the disk is on "
		    "shared storage, migrate without --copy-storage; if it is "
		    "a stale copy, remove it", src);
		return -1;
	}
	if (*vg == '\0') {
		snprintf(why, whylen, "%.200s is a block device: copying it "
		    "needs incoming_volume_group (the LVM volume group for "
		    "the copies) in this host's relocd.conf; if the disk is on "
		    "shared storage, migrate without --copy-storage", src);
		return -1;
	}
	base = strrchr(src, '/') + 1;
	if (!conf_lvm_name_ok(base)) {
		snprintf(why, whylen, "the copy of %.200s would be the "
		    "logical volume '%.200s' of %s, which is not a valid LV "
		    "name", src, base, vg);
		return -1;
	}
	snprintf(target, tlen, "/dev/%s/%s", vg, base);
	return 0;
}

struct json_object *
storage_plan(const struct relocd_conf *conf, struct json_object *offer)
{
	uint64_t vg_free = 0, vg_extent = 0, lvneed;
	int lv[DISKCOPY_MAX_DISKS], vg_known = 0, r;
	const char *kind;
	struct json_object *plan, *d, *e, *v;
	struct statvfs sv[DISKCOPY_MAX_DISKS];
	uint64_t need[DISKCOPY_MAX_DISKS], size, alloc, avail;
	char target[PATH_MAX], why[512], dir[PATH_MAX], *slash;
	const char *src, *vdev, *t;
	struct stat st;
	size_t i, j, n;

	plan = json_object_new_array();
	if (offer == NULL || !json_object_is_type(offer, json_type_array))
		return plan;
	n = json_object_array_length(offer);
	if (n > DISKCOPY_MAX_DISKS)
		n = DISKCOPY_MAX_DISKS;
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(offer, i);
		e = json_object_new_object();
		json_object_array_add(plan, e);
		need[i] = 0;
		lv[i] = 0;
		src = proto_get_str(d, "path");
		kind = proto_get_str(d, "kind");
		vdev = proto_get_str(d, "vdev");
		size = (uint64_t)proto_get_int(d, "size", -1);
		alloc = (uint64_t)proto_get_int(d, "allocated", -1);
		json_object_object_add(e, "vdev", json_object_new_string(
		    vdev != NULL ? vdev : "?"));
		if (src == NULL || size == 0 || size > DISKCOPY_MAX_SIZE ||
		    alloc > size + DISKCOPY_CHUNK) {
			json_object_object_add(e, "error",
			    json_object_new_string("the source offered it "
			    "without a path, or with an impossible size"));
			continue;
		}
		/* A file that shrank or grew holes meanwhile still fits. */
		if (alloc > size)
			alloc = size;
		json_object_object_add(e, "source", json_object_new_string(src));
		json_object_object_add(e, "size",
		    json_object_new_int64((int64_t)size));
		json_object_object_add(e, "allocated",
		    json_object_new_int64((int64_t)alloc));
		lv[i] = kind != NULL && strcmp(kind, "block") == 0;
		if ((lv[i] ? storage_lv_target : storage_target)(conf, src,
		    target, sizeof(target), why, sizeof(why)) == -1) {
			json_object_object_add(e, "error",
			    json_object_new_string(why));
			continue;
		}
		json_object_object_add(e, "target",
		    json_object_new_string(target));
		if (lstat(target, &st) == 0) {
			snprintf(why, sizeof(why), "%s%.200s already exists "
			    "here and is never overwritten: if it is a stale "
			    "copy, remove it%s; if the disk is on shared "
			    "storage, migrate without --copy-storage", lv[i] ?
			    "the logical volume " : "", target, lv[i] ?
			    " (lvremove)" : "");
			json_object_object_add(e, "error",
			    json_object_new_string(why));
			continue;
		}
		for (j = 0; j < i; j++) {
			t = proto_get_str(json_object_array_get_idx(plan, j),
			    "target");
			if (t != NULL && strcmp(t, target) == 0)
				break;
		}
		if (j < i) {
			snprintf(why, sizeof(why), "%.200s would be the copy of "
			    "two disks", target);
			json_object_object_add(e, "error",
			    json_object_new_string(why));
			continue;
		}
		if (lv[i]) {
			if (!vg_known && lvm_vg_info(conf,
			    conf->incoming_volume_group, &vg_free, &vg_extent,
			    why, sizeof(why)) == -1) {
				json_object_object_add(e, "error",
				    json_object_new_string(why));
				continue;
			}
			vg_known = 1;
			/* An inactive LV has no /dev node: LVM knows it. */
			if ((r = lvm_lv_exists(conf,
			    conf->incoming_volume_group, strrchr(target, '/') +
			    1, why, sizeof(why))) != 0) {
				if (r == 1)
					snprintf(why, sizeof(why), "the logical "
					    "volume %.200s already exists here "
					    "and is never overwritten: if it is "
					    "a stale copy, remove it "
					    "(lvremove); if the disk is on "
					    "shared storage, migrate without "
					    "--copy-storage", target);
				json_object_object_add(e, "error",
				    json_object_new_string(why));
				continue;
			}
			/* Thick: all of it, in whole extents. */
			lvneed = (size + vg_extent - 1) / vg_extent * vg_extent;
			need[i] = lvneed;
			json_object_object_add(e, "lv", json_object_new_string(
			    strrchr(target, '/') + 1));
			json_object_object_add(e, "vg", json_object_new_string(
			    conf->incoming_volume_group));
			json_object_object_add(e, "lv_size",
			    json_object_new_int64((int64_t)lvneed));
			json_object_object_add(e, "allocated",
			    json_object_new_int64((int64_t)lvneed));
			json_object_object_add(e, "fs_free",
			    json_object_new_int64((int64_t)vg_free));
			continue;
		}
		snprintf(dir, sizeof(dir), "%s", target);
		if ((slash = strrchr(dir, '/')) != NULL)
			slash[slash == dir ? 1 : 0] = '\0';
		if (statvfs(dir, &sv[i]) == -1) {
			snprintf(why, sizeof(why), "statvfs %.200s: %s", dir,
			    strerror(errno));
			json_object_object_add(e, "error",
			    json_object_new_string(why));
			continue;
		}
		need[i] = alloc;
		avail = (uint64_t)sv[i].f_bavail * sv[i].f_frsize;
		json_object_object_add(e, "fs_free",
		    json_object_new_int64((int64_t)avail));
	}
	/* Room, per filesystem: every copy bound for it counts. */
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(plan, i);
		if (need[i] == 0 || json_object_object_get_ex(e, "error", &v))
			continue;
		if (lv[i]) {
			alloc = 0;
			for (j = 0; j < n; j++)
				if (need[j] != 0 && lv[j])
					alloc += need[j];
			if (alloc > vg_free) {
				snprintf(why, sizeof(why), "no room for its "
				    "copy: %.1f MiB needed in volume group %s "
				    "(LVs are thick: whole sizes, in %llu-byte "
				    "extents) where %.200s would go, %.1f MiB "
				    "free there", alloc / 1048576.0,
				    conf->incoming_volume_group,
				    (unsigned long long)vg_extent,
				    proto_get_str(e, "target"),
				    vg_free / 1048576.0);
				json_object_object_add(e, "error",
				    json_object_new_string(why));
			}
			continue;
		}
		alloc = 0;
		for (j = 0; j < n; j++)
			if (need[j] != 0 && !lv[j] &&
			    sv[j].f_fsid == sv[i].f_fsid)
				alloc += need[j];
		avail = (uint64_t)sv[i].f_bavail * sv[i].f_frsize;
		if (alloc > avail) {
			snprintf(why, sizeof(why), "no room for its copy: "
			    "%.1f MiB of data to copy where %.200s would go, "
			    "%.1f MiB free there", alloc / 1048576.0,
			    proto_get_str(e, "target"), avail / 1048576.0);
			json_object_object_add(e, "error",
			    json_object_new_string(why));
		}
	}
	return plan;
}

const char *
storage_plan_error(struct json_object *plan)
{
	struct json_object *e;
	const char *err;
	size_t i, n;

	if (plan == NULL || !json_object_is_type(plan, json_type_array))
		return "no plan for the disks";
	n = json_object_array_length(plan);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(plan, i);
		if ((err = proto_get_str(e, "error")) != NULL)
			return err;
	}
	return NULL;
}

/*
 * The disks --copy-storage copies: every disk of the config whose
 * backing is a regular file here, or a logical volume of a volume group
 * only this host uses (lvm_lv_local; CD-ROMs are files too, but read
 * only and shared by nature: not copied).  Any other block device is
 * left alone and must be present at the destination, as without
 * --copy-storage: a LUN or a shared VG's LV is the same storage there,
 * and the destination, which refuses a present path, would refuse the
 * whole migration if it were offered.  The source cannot learn the
 * destination's plan before it offers, so it decides alone, from what
 * LVM says here.  A block device is read whole: its "allocated" bytes
 * are its size (a hole in an LV is not known from here; chunks of zeros
 * are skipped as they are read).  Sizes and allocation as root sees
 * them now; the source's helper checks again, as it opens each one,
 * that it is still the file or device offered.
 */
/* PATH's size as a block device (LVM's /dev/VG/LV: a symlink, followed). */
int
storage_blk_size(const char *path, uint64_t *size)
{
	struct stat st;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISBLK(st.st_mode) ||
	    lvm_blk_size(fd, size) == -1) {
		e = S_ISBLK(st.st_mode) ? errno : ENOTBLK;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

struct json_object *
storage_offer(const struct relocd_conf *conf, struct json_object *cfg,
    struct json_object **skipped, char *err, size_t errlen)
{
	uint64_t bsize;
	struct json_object *arr, *dev, *v, *offer, *d;
	const char *path, *vdev;
	char why[512];
	struct stat st;
	size_t i, n, ncopy = 0;

	if (skipped != NULL)
		*skipped = NULL;
	if (!json_object_object_get_ex(cfg, "disks", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0) {
		snprintf(err, errlen, "--copy-storage: it has no disks");
		return NULL;
	}
	offer = json_object_new_array();
	for (i = 0; i < n; i++) {
		dev = json_object_array_get_idx(arr, i);
		path = proto_get_str(dev, "pdev_path");
		vdev = proto_get_str(dev, "vdev");
		if (path == NULL || *path == '\0' ||
		    (json_object_object_get_ex(dev, "is_cdrom", &v) &&
		    json_object_get_int(v) != 0))
			continue;
		if (stat(path, &st) == -1) {
			snprintf(err, errlen, "--copy-storage: disk %s: %s: %s",
			    vdev ? vdev : "?", path, strerror(errno));
			goto fail;
		}
		if (S_ISBLK(st.st_mode) && !lvm_lv_local(conf, path, why,
		    sizeof(why))) {
			log_info("--copy-storage: disk %s: %s is not copied, "
			    "it must be present at the destination: %s",
			    vdev ? vdev : "?", path, why);
			if (skipped == NULL)
				continue;
			if (*skipped == NULL)
				*skipped = json_object_new_array();
			d = json_object_new_object();
			json_object_object_add(d, "vdev",
			    json_object_new_string(vdev ? vdev : "?"));
			json_object_object_add(d, "path",
			    json_object_new_string(path));
			json_object_object_add(d, "why",
			    json_object_new_string(why));
			json_object_array_add(*skipped, d);
			continue;
		}
		if (S_ISBLK(st.st_mode)) {
			if (storage_blk_size(path, &bsize) == -1) {
				snprintf(err, errlen, "--copy-storage: disk %s: "
				    "%s: its size: %s", vdev ? vdev : "?",
				    path, strerror(errno));
				goto fail;
			}
			st.st_size = (off_t)bsize;
			st.st_blocks = (blkcnt_t)(bsize / 512);
		} else if (!S_ISREG(st.st_mode))
			continue;
		if (ncopy == DISKCOPY_MAX_DISKS ||
		    (uint64_t)st.st_size > DISKCOPY_MAX_SIZE ||
		    st.st_size == 0) {
			snprintf(err, errlen, "--copy-storage: disk %s: %s: "
			    "%s", vdev ? vdev : "?", path, st.st_size == 0 ?
			    "empty" : "more disks or a larger image "
			    "than a copy takes (16 disks, 16 TiB)");
			goto fail;
		}
		d = json_object_new_object();
		json_object_object_add(d, "vdev",
		    json_object_new_string(vdev ? vdev : "?"));
		json_object_object_add(d, "path", json_object_new_string(path));
		if (S_ISBLK(st.st_mode))
			json_object_object_add(d, "kind",
			    json_object_new_string("block"));
		json_object_object_add(d, "size",
		    json_object_new_int64((int64_t)st.st_size));
		json_object_object_add(d, "allocated",
		    json_object_new_int64((int64_t)st.st_blocks * 512));
		json_object_array_add(offer, d);
		ncopy++;
	}
	if (ncopy == 0) {
		snprintf(err, errlen, "--copy-storage: none of its disks is a "
		    "file or a local logical volume on this host (other block "
		    "devices must be present at the destination)");
		goto fail;
	}
	return offer;
fail:
	json_object_put(offer);
	if (skipped != NULL) {
		json_object_put(*skipped);
		*skipped = NULL;
	}
	return NULL;
}
