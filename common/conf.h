/*
 * relocd.conf: the keys both relocd and xmig read.
 * The key table in conf.c is the single list of keys; relocd.conf.5 and
 * etc/relocd.conf document each of them.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>

#define CONF_DEFAULT_FILE	"/etc/xen/relocd.conf"
#define CONF_DEFAULT_PORT	8003

enum conf_backend {
	BACKEND_LIBXL,
	BACKEND_SIM,
};

struct allow_list;

struct relocd_conf {
	char		*path;

	char		*relocation_address;	/* "" = all */
	int		 relocation_port;
	char		**hosts_allow;		/* raw entries, NULL-terminated */
	size_t		 nhosts_allow;
	struct allow_list *allow;		/* compiled */

	char		*tls_ca_file;
	char		*tls_cert_file;
	char		*tls_key_file;
	char		*tls_crl_file;		/* "" = none */
	int		 tls_min_version;	/* 12 or 13 */

	char		*user;		/* of the network process */
	char		*control_socket;
	char		*state_dir;
	enum conf_backend backend;
	int		 max_migrations;
	int		 accept_migrations;
	int		 max_domains;
	int		 capacity;	/* sum of domain weights; 0 = none */
	char		**relocation_peers;	/* the cluster's other hosts */
	char		*cluster_dir;		/* shared storage, "" = none */
	char		*fence_command;		/* "%h" = the dead host */
	char		*autostart_dir;		/* xendomains' links, "" = none */

	/* timeouts, seconds */
	int		 handshake_timeout;
	int		 io_timeout;

	/* socket buffers of a connection between relocds, each way, KiB */
	int		 stream_buffer_kb;

	/* TLS handshakes in flight (total, and from one source address) */
	int		 max_unauthenticated;
	int		 max_unauthenticated_per_source;
	int		 ready_timeout;	/* source: stream sent -> "ready" */
	int		 go_timeout;	/* destination: "ready" -> "go" */
	int		 report_timeout; /* source: "go" -> report */

	/* incoming domain-config policy */
	char		**incoming_disk_paths;	/* allowed backend path prefixes */
	char		**incoming_bridges;	/* allowed bridges */
	char		*incoming_volume_group;	/* "" = block devices not copied */
	char		*lvm_command;
	int		 incoming_allow_bootloader;
	int		 incoming_allow_device_model;
	long		 incoming_max_memory_mb;	/* 0 = host limit only */
	long		 incoming_max_vcpus;		/* 0 = no limit */

	/* sim backend: what the simulated host looks like */
	long		 sim_memory_mb;
	char		*sim_arch;
	char		*sim_hostname;
	char		**sim_bridges;
	int		 sim_cap_shadow;
	char		**sim_cpu_features;
	char		**sim_pci_assignable;

	/* line of each key in the file (0 = default), for FILE:LINE messages
	 * raised after parsing, e.g. by the TLS self-check */
	int		 line_tls_ca_file, line_tls_cert_file, line_tls_key_file,
			 line_tls_crl_file, line_control_socket, line_state_dir,
			 line_relocation_address, line_user,
			 line_cluster_dir, line_fence_command;
};

void	conf_init(struct relocd_conf *);	/* all defaults */
void	conf_dispose(struct relocd_conf *);
/*
 * Load and validate FILE (NULL = $XMIG_CONFIG or the default).  Unknown
 * keys, wrong types and bad values are errors.  0 on success, -1 with
 * "FILE:LINE: message" in err.  A missing file is an error naming it.
 * The struct must have been through conf_init() (or be all zeroes); on
 * failure it is left exactly as it was.  Relative paths in FILE are
 * relative to FILE's directory and come back absolute.
 */
int	conf_load(struct relocd_conf *, const char *file, char *err,
	    size_t errlen);
/* LVM's limit for an LV name (a VG's is the same, 127 too). */
#define CONF_LVM_NAME_MAX	127
/* S is a valid LVM VG or LV name. */
int	conf_lvm_name_ok(const char *s);
/* PATH is /dev/VG/NAME, VG incoming_volume_group and NAME a valid LV
 * name: an LV there, whose path is LVM's symlink to /dev/dm-N. */
int	conf_vg_path(const struct relocd_conf *, const char *path);
/* The file conf_load would read for NULL. */
const char *conf_default_path(void);

#endif
