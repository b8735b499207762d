#include <getopt.h>
#include <stdio.h>

#include "proto.h"
#include "xmig.h"

#define SPEEDTEST_DEFAULT_MIB	1024
#define SPEEDTEST_MAX_MIB	65536

/*
 * xmig speedtest HOST: the local relocd streams zeros to HOST's relocd
 * over the path a migration takes; both report their time and CPU.
 */
int
main_speedtest(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "resource", required_argument, NULL, 'r' },
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *req = NULL, *reply = NULL;
	long mib = SPEEDTEST_DEFAULT_MIB, mbit = 0, port = 0;
	double bytes, us, gib;
	int ch, rc = EXIT_FAILED;

	while ((ch = getopt_long(argc, argv, "s:r:p:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if ((mib = xmig_number("size (MiB)", optarg, 1,
			    SPEEDTEST_MAX_MIB)) < 0)
				return EXIT_USAGE;
			break;
		case 'r':
			if ((mbit = xmig_number("resource (Mbit/s)", optarg,
			    1, 1000000)) < 0)
				return EXIT_USAGE;
			break;
		case 'p':
			if ((port = xmig_number("port", optarg, 1, 65535)) < 0)
				return EXIT_USAGE;
			break;
		default:
			return xmig_usage("speedtest");
		}
	}
	if (argc - optind != 1)
		return xmig_usage("speedtest");

	req = json_object_new_object();
	json_object_object_add(req, "host", json_object_new_string(
	    argv[optind]));
	json_object_object_add(req, "bytes",
	    json_object_new_int64((int64_t)mib << 20));
	if (mbit > 0)
		json_object_object_add(req, "bandwidth_mbit",
		    json_object_new_int64(mbit));
	if (port > 0)
		json_object_object_add(req, "port", json_object_new_int(port));
	if (ctl_call(PT_CTL_SPEEDTEST, req, &reply) == -1)
		goto out;

	/* The sender's clock runs from the first byte to the receiver's
	 * result, so it includes the whole transfer. */
	bytes = (double)proto_get_int(reply, "bytes", 0);
	us = (double)proto_get_int(reply, "send_us", 0);
	gib = bytes / (1 << 30);
	if (bytes <= 0 || us <= 0) {
		xmig_err("speedtest: %s gave no usable result", argv[optind]);
		goto out;
	}
	printf("%s: %.0f MiB in %.3f s: %.3f GB/s (%.2f Gbit/s), %s %s\n",
	    argv[optind], bytes / (1 << 20), us / 1e6, bytes / us / 1e3,
	    bytes * 8 / us / 1e3,
	    proto_get_str(reply, "tls_version") ?
	    proto_get_str(reply, "tls_version") : "?",
	    proto_get_str(reply, "cipher") ?
	    proto_get_str(reply, "cipher") : "?");
	printf("  relocd CPU: %.3f s/GiB here (sending), %.3f s/GiB there "
	    "(receiving)\n",
	    (double)proto_get_int(reply, "send_cpu_us", 0) / 1e6 / gib,
	    (double)proto_get_int(reply, "cpu_us", 0) / 1e6 / gib);
	rc = EXIT_OK;
out:
	json_object_put(req);
	json_object_put(reply);
	return rc;
}
