/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * [control] user: weir starts as root (DPDK needs it to map devices and
 * memory, a port below 1024 needs it to bind) and, once every port, socket
 * and thread is up, switches the whole process to an unprivileged user.
 * Main thread only: the check runs right after EAL init, the switch after
 * the control socket is bound. glibc's setgroups/setgid/setuid apply to
 * every thread of the process (lcores, sink, librdkafka's), which
 * ctl_user_drop() verifies afterwards on /proc/self/task. The embedded
 * broker does not survive that (see ctl_user_check), so it is refused.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <rte_eal.h>

#include "ctl_priv.h"

int
ctl_user_check(const struct weir_config *c, int legacy_mem, struct ctl_user *u, char *err,
	       size_t errlen)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (c->run_user[0] == '\0')
		return 0;
	pw = getpwnam(c->run_user);
	if (pw == NULL) {
		snprintf(err, errlen, "[control] user: no user named \"%s\" on this host",
			 c->run_user);
		return -1;
	}
	snprintf(u->name, sizeof(u->name), "%s", c->run_user);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "[control] user = %s: that is root (uid 0); name an "
			 "unprivileged user or leave [control] user empty", u->name);
		return -1;
	}
	if (pw->pw_uid == geteuid() && pw->pw_uid == getuid()) {
		fprintf(stderr, "weir: [control] user %s: already running as uid %u\n",
			u->name, (unsigned int)u->uid);
		return 0;
	}
	if (geteuid() != 0) {
		snprintf(err, errlen, "[control] user = %s: weir runs as uid %u, not root, and "
			 "cannot switch users; start it as root or leave [control] user empty",
			 u->name, (unsigned int)geteuid());
		return -1;
	}
	/*
	 * glibc switches every thread by signalling it; librdkafka's mock
	 * cluster thread takes the interrupted poll() as fatal and stops
	 * serving (seen here: "Mock cluster failed to poll ... Interrupted
	 * system call", then connection refused), so nothing would be delivered.
	 */
	if (strcmp(c->brokers, "embedded") == 0) {
		snprintf(err, errlen, "[control] user = %s: the embedded broker (librdkafka's "
			 "mock cluster) stops when weir switches users; use [kafka] brokers = "
			 "host:port (weir-devbroker or a Kafka cluster) or leave [control] user "
			 "empty", u->name);
		return -1;
	}
	/*
	 * Dynamic hugepage memory grows at run time by creating files in
	 * hugetlbfs, which only root may do: a later allocation (a weirctl
	 * window change builds new tables) would fail. --no-huge memory is
	 * anonymous, --legacy-mem reserves everything at init.
	 */
	if (rte_eal_has_hugepages() && !legacy_mem) {
		snprintf(err, errlen, "[control] user = %s: DPDK uses hugepages in dynamic mode, "
			 "which needs root whenever memory grows; add --legacy-mem to [eal] "
			 "args (or run with --no-huge), or leave [control] user empty", u->name);
		return -1;
	}
	u->active = 1;
	return 0;
}

/* Every thread must have switched: a thread left as root would be a way back. */
static int
threads_switched(uid_t uid, char *err, size_t errlen)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int bad = 0;

	if (d == NULL)
		return 0;	/* no /proc: glibc's guarantee has to do */
	while ((e = readdir(d)) != NULL && !bad) {
		char path[300], line[256];
		unsigned int r, eff, sv, fs;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;	/* the thread ended */
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "Uid: %u %u %u %u", &r, &eff, &sv, &fs) == 4) {
				if (r != uid || eff != uid || sv != uid || fs != uid) {
					snprintf(err, errlen, "thread %s is still uid %u/%u/%u",
						 e->d_name, r, eff, sv);
					bad = 1;
				}
				break;
			}
		}
		fclose(f);
	}
	closedir(d);
	return bad ? -1 : 0;
}

int
ctl_user_drop(const struct ctl_user *u, char *err, size_t errlen)
{
	const char *rundir;

	if (!u->active)
		return 0;
	/* DPDK's runtime directory: let the unprivileged weir clean it up at exit */
	rundir = rte_eal_get_runtime_dir();
	if (rundir != NULL && rundir[0] != '\0' && chown(rundir, u->uid, u->gid) != 0)
		fprintf(stderr, "weir: [control] user %s: cannot hand over %s: %s (it stays "
			"behind at exit)\n", u->name, rundir, strerror(errno));
	if (initgroups(u->name, u->gid) != 0) {
		snprintf(err, errlen, "[control] user = %s: setgroups: %s", u->name,
			 strerror(errno));
		return -1;
	}
	if (setgid(u->gid) != 0) {
		snprintf(err, errlen, "[control] user = %s: setgid(%u): %s", u->name,
			 (unsigned int)u->gid, strerror(errno));
		return -1;
	}
	if (setuid(u->uid) != 0) {
		snprintf(err, errlen, "[control] user = %s: setuid(%u): %s", u->name,
			 (unsigned int)u->uid, strerror(errno));
		return -1;
	}
	/* no way back: root must be gone for good */
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errlen, "[control] user = %s: root could be regained after the "
			 "switch", u->name);
		return -1;
	}
	if (threads_switched(u->uid, err, errlen) != 0)
		return -1;
	fprintf(stderr, "weir: running as user %s (uid %u, gid %u)\n", u->name,
		(unsigned int)u->uid, (unsigned int)u->gid);
	return 0;
}
