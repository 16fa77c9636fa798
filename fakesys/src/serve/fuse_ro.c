/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The FUSE operations a read-only tree refuses (EROFS: nothing is created,
 * renamed or removed; sysfs has no such operation either), and statfs.
 * (see serve/server.h for how the server's files divide the work)
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sys/statvfs.h>

#include "serve/server.h"

void srv_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fuse_req_userdata(req);

	pthread_rwlock_rdlock(&fs->lock);
	struct statvfs sv = {
		.f_bsize = 4096,
		.f_frsize = 4096,
		.f_blocks = (vk_vtree_bytes(fs->cur.t) + 4095) / 4096,
		.f_files = vk_vtree_size(fs->cur.t),
		.f_namemax = NAME_MAX,
		.f_flag = ST_NOSUID | ST_NODEV,
	};
	pthread_rwlock_unlock(&fs->lock);
	fuse_reply_statfs(req, &sv);
}

void srv_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EROFS);
}

void srv_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fuse_reply_err(req, EROFS);
}

void srv_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

void srv_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

void srv_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                const char *newname, unsigned int flags)
{
	fuse_reply_err(req, EROFS);
}

void srv_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	fuse_reply_err(req, EROFS);
}

void srv_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

void srv_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                  int flags)
{
	fuse_reply_err(req, EROFS);
}

void srv_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, EROFS);
}

void srv_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                   struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}
