/*
 * The domain-config model: xl-format files to libxl JSON, JSON from a
 * peer, and the incoming policy with every reason it can give.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "domcfg.h"

static int	from_text(const char *, struct json_object **, char *,
		    size_t);
static struct json_object *good(const char *);
static struct json_object *path(struct json_object *, const char *);
static const char *str_at(struct json_object *, const char *);
static int64_t	int_at(struct json_object *, const char *);
static Suite	*domcfg_suite(void);

/* Parse TEXT as the xl-format file "d.cfg" and convert it. */
static int
from_text(const char *text, struct json_object **out, char *err,
    size_t errlen)
{
	struct cfg cfg;
	int rc;

	*out = NULL;
	err[0] = '\0';
	cfg_init(&cfg);
	rc = cfg_parse_buf(&cfg, "d.cfg", text, strlen(text), err, errlen);
	if (rc == 0)
		rc = domcfg_from_cfg(&cfg, out, err, errlen);
	cfg_dispose(&cfg);
	return rc;
}

static struct json_object *
good(const char *text)
{
	struct json_object *o;
	char err[512];

	ck_assert_msg(from_text(text, &o, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(o);
	return o;
}

/* "b_info/max_memkb", "disks/0/vdev" ('/': keys such as "type.pv"
 * hold dots): NULL if any step is missing. */
static struct json_object *
path(struct json_object *o, const char *p)
{
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", p);
	for (tok = strtok_r(buf, "/", &save); tok != NULL && o != NULL;
	    tok = strtok_r(NULL, "/", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, atoi(tok));
		else if (!json_object_object_get_ex(o, tok, &o))
			o = NULL;
	}
	return o;
}

static const char *
str_at(struct json_object *o, const char *p)
{
	struct json_object *v = path(o, p);

	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_string),
	    "%s is not a string", p);
	return json_object_get_string(v);
}

static int64_t
int_at(struct json_object *o, const char *p)
{
	struct json_object *v = path(o, p);

	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_int),
	    "%s is not an integer", p);
	return json_object_get_int64(v);
}

/* --- xl-format files --- */

START_TEST(from_cfg_minimal)
{
	struct json_object *o;
	struct domcfg_info info;
	const char *uuid;
	char err[256];

	o = good("name = \"web1\"\nmemory = 512\n");
	ck_assert_str_eq(str_at(o, "c_info/name"), "web1");
	ck_assert_str_eq(str_at(o, "c_info/type"), "pv");
	uuid = str_at(o, "c_info/uuid");
	ck_assert_uint_eq(strlen(uuid), 36);
	ck_assert_int_eq(uuid[14], '4');	/* random, version 4 */
	ck_assert_ptr_nonnull(strchr("89ab", uuid[19]));
	ck_assert_int_eq(int_at(o, "b_info/max_memkb"), 512 * 1024);
	ck_assert_int_eq(int_at(o, "b_info/target_memkb"), 512 * 1024);
	ck_assert_int_eq(int_at(o, "b_info/max_vcpus"), 1);
	ck_assert_ptr_nonnull(path(o, "b_info/type.pv"));
	ck_assert_int_eq(json_object_array_length(path(o, "disks")), 0);
	ck_assert_int_eq(json_object_array_length(path(o, "nics")), 0);
	ck_assert_int_eq(json_object_array_length(path(o, "pcidevs")), 0);
	ck_assert_str_eq(str_at(o, "on_poweroff"), "destroy");
	ck_assert_str_eq(str_at(o, "on_reboot"), "restart");
	ck_assert_str_eq(str_at(o, "on_crash"), "destroy");
	ck_assert_ptr_null(path(o, "xmig_sim"));
	ck_assert_ptr_null(path(o, "b_info/bootloader"));

	ck_assert_int_eq(domcfg_info(o, &info, err, sizeof(err)), 0);
	ck_assert_str_eq(info.name, "web1");
	ck_assert_str_eq(info.uuid, uuid);
	ck_assert_str_eq(info.type, "pv");
	ck_assert_uint_eq(info.memory_kb, 512 * 1024);
	ck_assert_uint_eq(info.vcpus, 1);
	ck_assert_uint_eq(info.sim_tick_ms, 0);
	json_object_put(o);
}
END_TEST

START_TEST(from_cfg_full)
{
	static const char text[] =
	    "name = 'web1'\n"
	    "uuid = \"6F8B3E5A-1234-4abc-9def-0123456789AB\"\n"
	    "type = \"pvh\"\n"
	    "memory = 1024\n"
	    "maxmem = 2048\n"
	    "vcpus = 4\n"
	    "kernel = \"/boot/vmlinuz\"\n"
	    "ramdisk = \"/boot/initrd.img\"\n"
	    "root = \"/dev/xvda1 ro\"\n"
	    "extra = \"console=hvc0\"\n"
	    "bootloader = \"pygrub\"\n"
	    "device_model_override = \"/usr/lib/xen/bin/qemu\"\n"
	    "disk = [ '/srv/vm/web1.img,raw,xvda,rw',\n"
	    "  'format=qcow2, vdev=xvdb, access=ro, target=/srv/vm/b.q' ]\n"
	    "vif = [ 'bridge=xenbr1,mac=00:16:3e:01:02:03,script=vif-custom',\n"
	    "        '' ]\n"
	    "pci = [ '0000:03:00.0', '04:1f.7,permissive=1' ]\n"
	    "on_poweroff = \"preserve\"\n"
	    "on_reboot = \"rename-restart\"\n"
	    "on_crash = \"coredump-restart\"\n"
	    "sim_tick_ms = 250\n"
	    "sim_dirty_rate = 1000\n";
	struct json_object *o;
	struct domcfg_info info;
	char err[256];

	o = good(text);
	ck_assert_str_eq(str_at(o, "c_info/uuid"),
	    "6f8b3e5a-1234-4abc-9def-0123456789ab");
	ck_assert_str_eq(str_at(o, "c_info/type"), "pvh");
	ck_assert_ptr_nonnull(path(o, "b_info/type.pvh"));
	ck_assert_int_eq(int_at(o, "b_info/max_memkb"), 2048 * 1024);
	ck_assert_int_eq(int_at(o, "b_info/target_memkb"), 1024 * 1024);
	ck_assert_int_eq(int_at(o, "b_info/max_vcpus"), 4);
	ck_assert_str_eq(str_at(o, "b_info/kernel"), "/boot/vmlinuz");
	ck_assert_str_eq(str_at(o, "b_info/ramdisk"), "/boot/initrd.img");
	ck_assert_str_eq(str_at(o, "b_info/cmdline"),
	    "root=/dev/xvda1 ro console=hvc0");
	ck_assert_str_eq(str_at(o, "b_info/bootloader"), "pygrub");
	ck_assert_str_eq(str_at(o, "b_info/device_model"),
	    "/usr/lib/xen/bin/qemu");
	ck_assert_str_eq(str_at(o, "disks/0/pdev_path"), "/srv/vm/web1.img");
	ck_assert_str_eq(str_at(o, "disks/1/format"), "qcow2");
	ck_assert_int_eq(int_at(o, "disks/1/readwrite"), 0);
	ck_assert_str_eq(str_at(o, "nics/0/bridge"), "xenbr1");
	ck_assert_str_eq(str_at(o, "nics/0/mac"), "00:16:3e:01:02:03");
	ck_assert_str_eq(str_at(o, "nics/0/script"), "vif-custom");
	ck_assert_int_eq(int_at(o, "nics/0/devid"), 0);
	ck_assert_str_eq(str_at(o, "nics/1/bridge"), "xenbr0");
	ck_assert_int_eq(int_at(o, "nics/1/devid"), 1);
	ck_assert_ptr_null(path(o, "nics/1/mac"));
	ck_assert_str_eq(str_at(o, "pcidevs/0/bdf"), "0000:03:00.0");
	ck_assert_str_eq(str_at(o, "pcidevs/1/bdf"), "04:1f.7");
	ck_assert_int_eq(int_at(o, "pcidevs/1/bus"), 4);
	ck_assert_int_eq(int_at(o, "pcidevs/1/dev"), 0x1f);
	ck_assert_int_eq(int_at(o, "pcidevs/1/func"), 7);
	ck_assert_str_eq(str_at(o, "on_poweroff"), "preserve");
	ck_assert_str_eq(str_at(o, "on_reboot"), "restart_rename");
	ck_assert_str_eq(str_at(o, "on_crash"), "coredump_restart");
	ck_assert_int_eq(int_at(o, "xmig_sim/tick_ms"), 250);
	ck_assert_int_eq(int_at(o, "xmig_sim/dirty_rate"), 1000);

	ck_assert_int_eq(domcfg_info(o, &info, err, sizeof(err)), 0);
	ck_assert_str_eq(info.type, "pvh");
	ck_assert_uint_eq(info.memory_kb, 2048 * 1024);
	ck_assert_uint_eq(info.vcpus, 4);
	ck_assert_uint_eq(info.ndisks, 2);
	ck_assert_uint_eq(info.nnics, 2);
	ck_assert_uint_eq(info.npci, 2);
	ck_assert_uint_eq(info.sim_tick_ms, 250);
	ck_assert_uint_eq(info.sim_dirty_rate, 1000);
	json_object_put(o);
}
END_TEST

START_TEST(from_cfg_type_builder_cmdline)
{
	struct json_object *o;

	o = good("name='a'\nmemory=1\nbuilder='hvm'\n");
	ck_assert_str_eq(str_at(o, "c_info/type"), "hvm");
	json_object_put(o);
	o = good("name='a'\nmemory=1\nbuilder='generic'\n");
	ck_assert_str_eq(str_at(o, "c_info/type"), "pv");
	json_object_put(o);
	/* type wins, as in xl */
	o = good("name='a'\nmemory=1\nbuilder='hvm'\ntype='pv'\n");
	ck_assert_str_eq(str_at(o, "c_info/type"), "pv");
	json_object_put(o);
	o = good("name='a'\nmemory=1\nextra='quiet'\n");
	ck_assert_str_eq(str_at(o, "b_info/cmdline"), "quiet");
	json_object_put(o);
	o = good("name='a'\nmemory=1\nroot='/dev/xvda'\n");
	ck_assert_str_eq(str_at(o, "b_info/cmdline"), "root=/dev/xvda");
	json_object_put(o);
	o = good("name='a'\nmemory=1\ncmdline='init=/bin/sh'\n");
	ck_assert_str_eq(str_at(o, "b_info/cmdline"), "init=/bin/sh");
	json_object_put(o);
	o = good("name='a'\nmemory=1\nkernel='/boot/caf\xc3\xa9-\xf0\x9f\x90"
	    "\xa7'\n");
	ck_assert_str_eq(str_at(o, "b_info/kernel"), "/boot/caf\xc3\xa9-"
	    "\xf0\x9f\x90\xa7");
	json_object_put(o);
}
END_TEST

/* disk spec -> pdev_path, vdev, format, readwrite, is_cdrom, script */
static const struct {
	const char	*spec;
	const char	*pdev;		/* NULL: none */
	const char	*vdev;
	const char	*format;
	int		 rw;
	int		 cdrom;
	const char	*script;
} disk_forms[] = {
	{ "/var/lib/xen/images/web1.img,raw,xvda,rw",
	    "/var/lib/xen/images/web1.img", "xvda", "raw", 1, 0, NULL },
	{ "format=raw, vdev=xvda, access=rw, target=/dev/vg/web1",
	    "/dev/vg/web1", "xvda", "raw", 1, 0, NULL },
	{ "vdev=xvdf, target=/srv/with,comma.img",
	    "/srv/with,comma.img", "xvdf", "raw", 1, 0, NULL },
	{ "phy:/dev/x,xvda,w", "/dev/x", "xvda", "raw", 1, 0, NULL },
	{ "file:/srv/a.img,xvdb,r", "/srv/a.img", "xvdb", "raw", 0, 0, NULL },
	{ "tap:aio:/srv/a.img,xvdc,w", "/srv/a.img", "xvdc", "raw", 1, 0,
	    NULL },
	{ "tap:qcow2:/srv/a.qcow2,xvdd,w", "/srv/a.qcow2", "xvdd", "qcow2", 1,
	    0, NULL },
	{ "/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume", "hda", "raw", 1,
	    0, NULL },
	{ "/dev/vg/v,qcow2,xvda,ro", "/dev/vg/v", "xvda", "qcow2", 0, 0,
	    NULL },
	{ "/root/image.iso,,hdc,cdrom", "/root/image.iso", "hdc", "raw", 1, 1,
	    NULL },
	{ "/root/image.iso,raw,hdc,devtype=cdrom", "/root/image.iso", "hdc",
	    "raw", 1, 1, NULL },
	{ "raw:/root/image.iso,hdc:cdrom,ro", "/root/image.iso", "hdc", "raw",
	    0, 1, NULL },
	{ ",,hdc:cdrom", NULL, "hdc", "empty", 1, 1, NULL },
	{ "vdev=hdc, devtype=cdrom", NULL, "hdc", "empty", 1, 1, NULL },
	{ "/srv/x.img,raw,xvda,rw,script=block-custom", "/srv/x.img", "xvda",
	    "raw", 1, 0, "block-custom" },
	{ "iscsi:iqn.2001-05.com.example:disk,xvde,w",
	    "iqn.2001-05.com.example:disk", "xvde", "raw", 1, 0,
	    "block-iscsi" },
	{ "  /srv/sp.img , raw , xvdg , rw  ", "/srv/sp.img", "xvdg", "raw", 1,
	    0, NULL },
	{ "/srv/d.img,raw,xvdh,rw,discard,direct-io-safe", "/srv/d.img",
	    "xvdh", "raw", 1, 0, NULL },
};

START_TEST(from_cfg_disk_forms)
{
	struct json_object *o, *d;
	char text[512];

	snprintf(text, sizeof(text), "name='a'\nmemory=1\ndisk=['%s']\n",
	    disk_forms[_i].spec);
	o = good(text);
	d = path(o, "disks/0");
	ck_assert_ptr_nonnull(d);
	if (disk_forms[_i].pdev != NULL)
		ck_assert_str_eq(str_at(d, "pdev_path"), disk_forms[_i].pdev);
	else
		ck_assert_ptr_null(path(d, "pdev_path"));
	ck_assert_str_eq(str_at(d, "vdev"), disk_forms[_i].vdev);
	ck_assert_str_eq(str_at(d, "format"), disk_forms[_i].format);
	ck_assert_int_eq(int_at(d, "readwrite"), disk_forms[_i].rw);
	if (disk_forms[_i].cdrom)
		ck_assert_int_eq(int_at(d, "is_cdrom"), 1);
	else
		ck_assert_ptr_null(path(d, "is_cdrom"));
	if (disk_forms[_i].script != NULL)
		ck_assert_str_eq(str_at(d, "script"), disk_forms[_i].script);
	else
		ck_assert_ptr_null(path(d, "script"));
	json_object_put(o);
}
END_TEST

START_TEST(from_cfg_vif_forms)
{
	struct json_object *o;

	o = good("name='a'\nmemory=1\nvif=[ 'mac=00:16:3E:AA:bb:cc',\n"
	    "'type=ioemu, model=e1000, vifname=vif-web, ip=192.0.2.9,',\n"
	    "'bridge=br-lan' ]\n");
	ck_assert_str_eq(str_at(o, "nics/0/bridge"), "xenbr0");
	ck_assert_str_eq(str_at(o, "nics/0/mac"), "00:16:3E:AA:bb:cc");
	ck_assert_str_eq(str_at(o, "nics/1/nictype"), "vif_ioemu");
	ck_assert_str_eq(str_at(o, "nics/1/model"), "e1000");
	ck_assert_str_eq(str_at(o, "nics/1/ifname"), "vif-web");
	ck_assert_str_eq(str_at(o, "nics/1/ip"), "192.0.2.9");
	ck_assert_str_eq(str_at(o, "nics/2/bridge"), "br-lan");
	ck_assert_int_eq(int_at(o, "nics/2/devid"), 2);
	json_object_put(o);
}
END_TEST

static const struct {
	const char	*text;
	const char	*msg;
} from_cfg_bad[] = {
	{ "name = 'a'\nmemroy = 512\n",
	    "d.cfg:2: unknown setting 'memroy' (did you mean 'memory'?)" },
	{ "name = 'a'\nmemory = 1\nusb = 1\n",
	    "d.cfg:3: unknown setting 'usb'" },
	{ "memory = 512\n", "d.cfg: missing required setting 'name'" },
	{ "name = 'a'\n", "d.cfg: missing required setting 'memory'" },
	{ "name = 'a'\nmemory = 0\n",
	    "d.cfg:2: memory: 0 is out of range (1..16777216)" },
	{ "name = 'a'\nmemory = \"512\"\n",
	    "d.cfg:2: memory: expected a number, got a string" },
	{ "name = 'a'\nmemory = 512\nmaxmem = 256\n",
	    "d.cfg:3: maxmem: 256 is less than memory (512)" },
	{ "name = 'a'\nmemory = 512\nvcpus = 0\n",
	    "d.cfg:3: vcpus: 0 is out of range (1..4096)" },
	{ "name = 7\nmemory = 1\n",
	    "d.cfg:1: name: expected a string, got a number" },
	{ "name = '123'\nmemory = 1\n", "d.cfg:1: name: '123' is not a valid "
	    "domain name (1..63 printable characters, no blanks or '/', not "
	    "all digits)" },
	{ "name = 'a/b'\nmemory = 1\n", "d.cfg:1: name: 'a/b' is not a valid "
	    "domain name (1..63 printable characters, no blanks or '/', not "
	    "all digits)" },
	{ "name = 'a'\nmemory = 1\nuuid = '1234'\n", "d.cfg:3: uuid: '1234' "
	    "is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)" },
	{ "name = 'a'\nmemory = 1\ntype = 'xen'\n", "d.cfg:3: type: unknown "
	    "domain type 'xen' (use \"pv\", \"pvh\" or \"hvm\")" },
	{ "name = 'a'\nmemory = 1\nbuilder = 'linux'\n", "d.cfg:3: builder: "
	    "unknown builder 'linux' (use \"generic\" or \"hvm\")" },
	{ "name = 'a'\nmemory = 1\non_crash = 'reboot'\n", "d.cfg:3: "
	    "on_crash: unknown action 'reboot' (destroy, restart, "
	    "rename-restart, preserve, coredump-destroy, coredump-restart, "
	    "soft-reset)" },
	{ "name = 'a'\nmemory = 1\nsim_tick_ms = 0\n",
	    "d.cfg:3: sim_tick_ms: 0 is out of range (1..60000)" },
	{ "name = 'a'\nmemory = 1\nsim_dirty_rate = 1000001\n",
	    "d.cfg:3: sim_dirty_rate: 1000001 is out of range (0..1000000)" },
	{ "name = 'a'\nmemory = 1\ndisk = '/x.img,raw,xvda'\n",
	    "d.cfg:3: disk: expected a list, got a string" },
	{ "name = 'a'\nmemory = 1\ndisk = [ '/x,raw,xvda',\n 5 ]\n",
	    "d.cfg:4: disk: expected a list of strings, item 2 is a number" },
	{ "name = 'a'\nmemory = 1\ncmdline = 'x'\nextra = 'y'\n",
	    "d.cfg:3: cmdline: set together with 'extra'; use one or the "
	    "other" },
	{ "name = 'a'\nmemory = 1\nkernel = [ ]\n",
	    "d.cfg:3: kernel: expected a string, got a list" },
	/* disk specs, at the line of the item */
	{ "name='a'\nmemory=1\ndisk=[\n'/x.img,raw,xvda',\n'/x.img,raw']\n",
	    "d.cfg:5: disk '/x.img,raw': no vdev given" },
	{ "name='a'\nmemory=1\ndisk=['/x.img,raw,xvda,rw,more']\n",
	    "d.cfg:3: disk '/x.img,raw,xvda,rw,more': too many positional "
	    "parameters" },
	{ "name='a'\nmemory=1\ndisk=['/x.img,vmdk,xvda']\n",
	    "d.cfg:3: disk '/x.img,vmdk,xvda': unknown format 'vmdk'" },
	{ "name='a'\nmemory=1\ndisk=['/x.img,raw,xvda,rx']\n",
	    "d.cfg:3: disk '/x.img,raw,xvda,rx': unknown access 'rx'" },
	{ "name='a'\nmemory=1\ndisk=['foo=bar,/x.img,,xvda']\n",
	    "d.cfg:3: disk 'foo=bar,/x.img,,xvda': unknown disk parameter "
	    "'foo'" },
	{ "name='a'\nmemory=1\ndisk=['bogus:/x.img,xvda']\n",
	    "d.cfg:3: disk 'bogus:/x.img,xvda': unknown disk prefix 'bogus:'" },
	{ "name='a'\nmemory=1\ndisk=[',raw,xvda']\n",
	    "d.cfg:3: disk ',raw,xvda': no target given" },
	{ "name='a'\nmemory=1\ndisk=['/x.img,raw,../xvda']\n",
	    "d.cfg:3: disk '/x.img,raw,../xvda': invalid vdev '../xvda'" },
	{ "name='a'\nmemory=1\ndisk=['/x.img,raw,xvda,devtype=tape']\n",
	    "d.cfg:3: disk '/x.img,raw,xvda,devtype=tape': unknown devtype "
	    "'tape'" },
	{ "name='a'\nmemory=1\ndisk=['raw:/x.img,qcow2,xvda']\n",
	    "d.cfg:3: disk 'raw:/x.img,qcow2,xvda': unknown access 'xvda'" },
	{ "name='a'\nmemory=1\ndisk=['/a.img,,xvda', '/b.img,,xvda']\n",
	    "d.cfg:3: disk '/b.img,,xvda': vdev xvda is already used by disk "
	    "1" },
	/* vif specs */
	{ "name='a'\nmemory=1\nvif=['bridge']\n",
	    "d.cfg:3: vif 'bridge': expected key=value, got 'bridge'" },
	{ "name='a'\nmemory=1\nvif=['rate=10Mb/s']\n",
	    "d.cfg:3: vif 'rate=10Mb/s': unknown vif parameter 'rate'" },
	{ "name='a'\nmemory=1\nvif=['mac=00:16:3e:1:2:3']\n",
	    "d.cfg:3: vif 'mac=00:16:3e:1:2:3': invalid mac '00:16:3e:1:2:3' "
	    "(six hex bytes separated by ':')" },
	{ "name='a'\nmemory=1\nvif=['bridge=a,bridge=b']\n",
	    "d.cfg:3: vif 'bridge=a,bridge=b': 'bridge' given twice" },
	{ "name='a'\nmemory=1\nvif=['bridge=../br']\n",
	    "d.cfg:3: vif 'bridge=../br': invalid bridge name '../br'" },
	{ "name='a'\nmemory=1\nvif=['type=virtio']\n",
	    "d.cfg:3: vif 'type=virtio': unknown vif type 'virtio' (vif or "
	    "ioemu)" },
	/* what cannot be JSON */
	{ "name='a'\nmemory=1\ndisk=[\n'/srv/caf\xe9.img,raw,xvda']\n",
	    "d.cfg:4: disk: not valid UTF-8" },
	{ "name='a'\nmemory=1\nkernel='/boot/\xc0\xafx'\n",
	    "d.cfg:3: kernel: not valid UTF-8" },
	{ "name='a'\nmemory=1\nkernel='/boot/\xed\xa0\x80'\n",
	    "d.cfg:3: kernel: not valid UTF-8" },
	/* pci */
	{ "name='a'\nmemory=1\npci=['03:00']\n",
	    "d.cfg:3: pci '03:00': not a PCI address (e.g. 0000:03:00.0)" },
	{ "name='a'\nmemory=1\npci=['0000:03:20.0']\n",
	    "d.cfg:3: pci '0000:03:20.0': not a PCI address (e.g. "
	    "0000:03:00.0)" },
	{ "name='a'\nmemory=1\npci=[' 03:00.0']\n",
	    "d.cfg:3: pci ' 03:00.0': not a PCI address (e.g. 0000:03:00.0)" },
};

START_TEST(from_cfg_errors)
{
	struct json_object *o;
	char err[512];

	ck_assert_int_eq(from_text(from_cfg_bad[_i].text, &o, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, from_cfg_bad[_i].msg);
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(from_cfg_round_trip)
{
	struct json_object *o, *p;
	char *s, err[256];

	o = good("name='web1'\nmemory=64\ndisk=['/srv/vm/a.img,raw,xvda,rw']\n"
	    "vif=['bridge=xenbr0']\nsim_tick_ms=100\n");
	s = domcfg_to_string(o);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strstr(s, "\\/"));	/* paths stay readable */
	ck_assert_ptr_nonnull(strstr(s, "\"/srv/vm/a.img\""));
	ck_assert_int_eq(domcfg_parse(s, strlen(s), &p, err, sizeof(err)), 0);
	ck_assert_str_eq(str_at(p, "disks/0/pdev_path"), "/srv/vm/a.img");
	ck_assert_int_eq(int_at(p, "xmig_sim/tick_ms"), 100);
	/* with the NUL xl sends */
	json_object_put(p);
	ck_assert_int_eq(domcfg_parse(s, strlen(s) + 1, &p, err, sizeof(err)),
	    0);
	json_object_put(p);
	free(s);
	json_object_put(o);
}
END_TEST

/* --- JSON from a peer --- */

static const struct {
	const char	*json;
	const char	*msg;		/* exact, or a prefix ending in '*' */
} parse_bad[] = {
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":1}} x",
	    "domain config: trailing garbage after the JSON at offset 49" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":1}}{}",
	    "domain config: trailing garbage after the JSON at offset 48" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":",
	    "domain config: JSON is truncated" },
	{ "", "domain config: JSON is truncated" },
	{ "{\"c_info\":tru}", "domain config: invalid JSON at offset 13: *" },
	{ "{\"c_info\":{\"name\":\"\xff\"}}",
	    "domain config: invalid JSON at offset 19: *" },
	{ "{\"c_info\":{\"name\":\"a\",},\"b_info\":{}}",
	    "domain config: invalid JSON at offset *" },
	{ "[1,2]", "domain config is not a JSON object" },
	{ "{}", "domain config: c_info missing" },
	{ "{\"c_info\":[]}", "domain config: c_info missing" },
	{ "{\"c_info\":{}}", "domain config: c_info.name missing" },
	{ "{\"c_info\":{\"name\":5}}", "domain config: c_info.name missing" },
	{ "{\"c_info\":{\"name\":\"12\"}}",
	    "domain config: invalid domain name '12'" },
	{ "{\"c_info\":{\"name\":\"a\\nb\"}}",
	    "domain config: invalid domain name 'a?b'" },
	{ "{\"c_info\":{\"name\":\"a\"}}", "domain config: b_info missing" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{}}",
	    "domain config: b_info.max_memkb missing" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":0}}",
	    "domain config: b_info.max_memkb 0 is out of range "
	    "(1..9223372036854775807)" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":\"1\"}}",
	    "domain config: b_info.max_memkb is not an integer" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":1.5}}",
	    "domain config: b_info.max_memkb is not an integer" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":1,"
	    "\"max_vcpus\":0}}", "domain config: b_info.max_vcpus 0 is out of "
	    "range (1..4096)" },
	{ "{\"c_info\":{\"name\":\"a\",\"type\":\"xen\"},\"b_info\":"
	    "{\"max_memkb\":1}}", "domain config: c_info.type is not \"pv\", "
	    "\"pvh\" or \"hvm\"" },
	{ "{\"c_info\":{\"name\":\"a\",\"uuid\":\"x\"},\"b_info\":"
	    "{\"max_memkb\":1}}", "domain config: c_info.uuid is not a UUID" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":1},"
	    "\"disks\":{}}", "domain config: disks is not a list" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":1},"
	    "\"xmig_sim\":{\"tick_ms\":0}}", "domain config: xmig_sim.tick_ms "
	    "0 is out of range (1..60000)" },
	{ "{\"c_info\":{\"name\":\"a\"},\"b_info\":{\"max_memkb\":1},"
	    "\"xmig_sim\":7}", "domain config: xmig_sim is not an object" },
};

START_TEST(parse_errors)
{
	struct json_object *o = NULL;
	const char *exp = parse_bad[_i].msg;
	char err[256];
	size_t n;

	ck_assert_int_eq(domcfg_parse(parse_bad[_i].json,
	    strlen(parse_bad[_i].json), &o, err, sizeof(err)), -1);
	ck_assert_ptr_null(o);
	n = strlen(exp);
	if (exp[n - 1] == '*')
		ck_assert_msg(strncmp(err, exp, n - 1) == 0, "got '%s'", err);
	else
		ck_assert_str_eq(err, exp);
}
END_TEST

START_TEST(parse_bounds)
{
	struct json_object *o = NULL;
	char err[256], *big;
	size_t i, n;

	/* the length bound is checked before a byte is parsed */
	n = DOMCFG_MAX_JSON + 1;
	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	ck_assert_int_eq(domcfg_parse(big, n, &o, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "domain config too large (1048577 bytes, the "
	    "limit is 1048576)");

	/* nesting beyond the depth bound */
	n = 0;
	n += sprintf(big + n, "{\"c_info\":{\"name\":\"a\"},\"b_info\":"
	    "{\"max_memkb\":1},\"x\":");
	for (i = 0; i < 1000; i++)
		big[n++] = '[';
	for (i = 0; i < 1000; i++)
		big[n++] = ']';
	big[n++] = '}';
	ck_assert_int_eq(domcfg_parse(big, n, &o, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "domain config: invalid JSON at offset ",
	    38) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "nesting too deep"));

	/* a NUL inside the length */
	n = sprintf(big, "{\"c_info\":{\"name\":\"a\"},\"b_info\":"
	    "{\"max_memkb\":1}}");
	big[5] = '\0';
	ck_assert_int_eq(domcfg_parse(big, n, &o, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "domain config contains a NUL byte");

	/* the length is honoured: no read past it, nothing after it seen */
	n = sprintf(big, "{\"c_info\":{\"name\":\"a\"},\"b_info\":"
	    "{\"max_memkb\":1}}GARBAGE");
	ck_assert_int_eq(domcfg_parse(big, n - 7, &o, err, sizeof(err)), 0);
	json_object_put(o);
	ck_assert_int_eq(domcfg_parse(big, n - 8, &o, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "domain config: JSON is truncated");
	free(big);
}
END_TEST

START_TEST(info_defaults)
{
	static const char json[] = "{\"c_info\":{\"name\":\"a\"},\"b_info\":"
	    "{\"max_memkb\":4096},\"nics\":[{},{}]}\n\t ";
	struct json_object *o;
	struct domcfg_info info;
	char err[256];

	ck_assert_int_eq(domcfg_parse(json, strlen(json), &o, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(domcfg_info(o, &info, err, sizeof(err)), 0);
	ck_assert_str_eq(info.name, "a");
	ck_assert_str_eq(info.uuid, "");
	ck_assert_str_eq(info.type, "pv");
	ck_assert_uint_eq(info.memory_kb, 4096);
	ck_assert_uint_eq(info.vcpus, 1);
	ck_assert_uint_eq(info.ndisks, 0);
	ck_assert_uint_eq(info.nnics, 2);
	ck_assert_uint_eq(info.npci, 0);

	ck_assert_int_eq(domcfg_set_name(o, "b--incoming"), 0);
	ck_assert_int_eq(domcfg_info(o, &info, err, sizeof(err)), 0);
	ck_assert_str_eq(info.name, "b--incoming");
	ck_assert_int_eq(domcfg_set_name(o, "bad/name"), -1);
	ck_assert_int_eq(domcfg_set_name(o, ""), -1);
	ck_assert_str_eq(str_at(o, "c_info/name"), "b--incoming");
	json_object_put(o);
	ck_assert_int_eq(domcfg_info(NULL, &info, err, sizeof(err)), -1);
}
END_TEST

START_TEST(name_rules)
{
	char long_name[DOMCFG_NAME_MAX + 2];

	ck_assert_int_eq(domcfg_name_valid("web1"), 1);
	ck_assert_int_eq(domcfg_name_valid("web-1.example_x"), 1);
	ck_assert_int_eq(domcfg_name_valid("1web"), 1);
	ck_assert_int_eq(domcfg_name_valid("0x12"), 1);
	ck_assert_int_eq(domcfg_name_valid(""), 0);
	ck_assert_int_eq(domcfg_name_valid(NULL), 0);
	ck_assert_int_eq(domcfg_name_valid("123"), 0);
	ck_assert_int_eq(domcfg_name_valid("a/b"), 0);
	ck_assert_int_eq(domcfg_name_valid("a b"), 0);
	ck_assert_int_eq(domcfg_name_valid("a\tb"), 0);
	ck_assert_int_eq(domcfg_name_valid("caf\xc3\xa9"), 0);
	memset(long_name, 'a', sizeof(long_name));
	long_name[DOMCFG_NAME_MAX] = '\0';
	ck_assert_int_eq(domcfg_name_valid(long_name), 1);
	long_name[DOMCFG_NAME_MAX] = 'a';
	long_name[DOMCFG_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(domcfg_name_valid(long_name), 0);
}
END_TEST

/* An arriving copy's name maps to its domain's; only a trailing suffix. */
START_TEST(migration_names)
{
	ck_assert_uint_eq(domcfg_base_len("web1--incoming"), 4);
	ck_assert_uint_eq(domcfg_base_len("web1"), 4);
	ck_assert_uint_eq(domcfg_base_len("--incoming"), 10);
	ck_assert_uint_eq(domcfg_base_len("web1--incoming2"), 15);
	ck_assert_uint_eq(domcfg_base_len("a--incoming--incoming"), 11);
	ck_assert_uint_eq(domcfg_base_len(""), 0);
	ck_assert_int_eq(domcfg_is_migration_name("web1--incoming"), 1);
	ck_assert_int_eq(domcfg_is_migration_name("web1--migratedaway"), 1);
	ck_assert_int_eq(domcfg_is_migration_name("a--migratedaway-b"), 1);
	ck_assert_int_eq(domcfg_is_migration_name("web1--incoming2"), 0);
	ck_assert_int_eq(domcfg_is_migration_name("web1"), 0);
	ck_assert_int_eq(domcfg_is_migration_name("--incoming"), 0);
}
END_TEST

/* --- the incoming policy --- */

static char *const disk_paths[] = { "/srv/vm", "/dev/vg/", NULL };
static char *const bridges[] = { "xenbr0", "xenbr1", NULL };
static char *const host_bridges[] = { "xenbr0", "virbr0", NULL };

static const struct domcfg_policy base_policy = {
	.disk_paths = disk_paths,
	.bridges = bridges,
	.host_bridges = host_bridges,
	.allow_bootloader = 0,
	.allow_device_model = 0,
	.max_memory_kb = 1024 * 1024,
	.max_vcpus = 4,
};

/* A stock xl host's config: default scripts recorded by libxl. */
#define DOM(binfo, disks, nics, extra)					\
	"{\"c_info\":{\"name\":\"web1\",\"type\":\"pv\"},"		\
	"\"b_info\":{\"max_memkb\":524288,\"max_vcpus\":2" binfo "},"	\
	"\"disks\":[" disks "],\"nics\":[" nics "]" extra "}"
#define DISK	"{\"pdev_path\":\"/srv/vm/web1.img\",\"vdev\":\"xvda\"}"
#define NIC	"{\"devid\":0,\"bridge\":\"xenbr0\","			\
		"\"script\":\"/etc/xen/scripts/vif-bridge\"}"

static const struct {
	const char	*json;
	const char	*reason;	/* NULL: allowed */
} policy_cases[] = {
	{ DOM("", DISK, NIC, ""), NULL },
	{ DOM("", "", "", ""), NULL },
	{ DOM("", "{\"pdev_path\":\"/srv//vm/./a.img\",\"vdev\":\"xvda\"}",
	    NIC, ""), NULL },
	{ DOM("", "{\"pdev_path\":\"/dev/vg/web1\",\"vdev\":\"xvda\"}", NIC,
	    ""), NULL },
	{ DOM("", "{\"vdev\":\"hdc\",\"is_cdrom\":1}", NIC, ""), NULL },
	{ DOM("", "{\"pdev_path\":\"/srv/vm/a\",\"vdev\":\"xvda\","
	    "\"script\":\"block\"}", "{\"bridge\":\"xenbr0\",\"script\":"
	    "\"vif-bridge\"}", ""), NULL },
	{ DOM("", DISK, "{\"devid\":0}", ""), NULL },	/* xenbr0 default */
	{ DOM("", DISK, NIC, ",\"pcidevs\":[]"), NULL },
	{ DOM(",\"bootloader\":\"\"", DISK, NIC, ""), NULL },

	{ DOM("", "{\"pdev_path\":\"/srv/vmevil/x.img\",\"vdev\":\"xvda\"}",
	    NIC, ""), "disk xvda: backend path /srv/vmevil/x.img is not under "
	    "an allowed path (incoming_disk_paths)" },
	{ DOM("", "{\"pdev_path\":\"/srv/x.img\",\"vdev\":\"xvdb\"}", NIC, ""),
	    "disk xvdb: backend path /srv/x.img is not under an allowed path "
	    "(incoming_disk_paths)" },
	{ DOM("", "{\"pdev_path\":\"/dev/vgx/a\",\"vdev\":\"xvda\"}", NIC, ""),
	    "disk xvda: backend path /dev/vgx/a is not under an allowed path "
	    "(incoming_disk_paths)" },
	{ DOM("", "{\"pdev_path\":\"/srv/vm/../../etc/shadow\",\"vdev\":"
	    "\"xvda\"}", NIC, ""), "disk xvda: backend path "
	    "/srv/vm/../../etc/shadow has a '..' component" },
	{ DOM("", "{\"pdev_path\":\"/srv/vm/..\",\"vdev\":\"xvda\"}", NIC, ""),
	    "disk xvda: backend path /srv/vm/.. has a '..' component" },
	{ DOM("", "{\"pdev_path\":\"srv/vm/a.img\",\"vdev\":\"xvda\"}", NIC,
	    ""), "disk xvda: backend path srv/vm/a.img is not absolute" },
	{ DOM("", "{\"pdev_path\":\"/srv/vm/a\"}", NIC, ""), NULL },
	{ DOM("", DISK ",{\"pdev_path\":\"/etc/passwd\"}", NIC, ""),
	    "disk #1: backend path /etc/passwd is not under an allowed path "
	    "(incoming_disk_paths)" },
	{ DOM("", "{\"pdev_path\":7,\"vdev\":\"xvda\"}", NIC, ""),
	    "disk xvda: backend path is not a string" },
	{ DOM("", "7", NIC, ""), "disk 0 is not an object" },
	{ DOM("", "{\"pdev_path\":\"/srv/vm/a\",\"vdev\":\"xvda\","
	    "\"script\":\"/tmp/evil\"}", NIC, ""), "hotplug script override "
	    "'/tmp/evil' on disk xvda is not allowed" },
	{ DOM("", "{\"pdev_path\":\"/srv/vm/a\",\"vdev\":\"xvda\","
	    "\"script\":\"block-iscsi\"}", NIC, ""), "hotplug script override "
	    "'block-iscsi' on disk xvda is not allowed" },
	{ DOM("", DISK, "{\"devid\":3,\"bridge\":\"xenbr0\",\"script\":"
	    "\"vif-custom\"}", ""), "hotplug script override 'vif-custom' on "
	    "nic 3 is not allowed" },
	{ DOM("", DISK, "{\"bridge\":\"xenbr0\",\"script\":"
	    "\"/usr/local/vif-bridge\"}", ""), "hotplug script override "
	    "'/usr/local/vif-bridge' on nic 0 is not allowed" },
	{ DOM("", DISK, NIC ",{\"devid\":1,\"bridge\":\"xenbr9\"}", ""),
	    "nic 1: bridge xenbr9 is not allowed (incoming_bridges)" },
	{ DOM("", DISK, "{\"devid\":0,\"bridge\":\"xenbr1\"}", ""),
	    "nic 0: bridge xenbr1 does not exist on this host" },
	{ DOM("", DISK, "{\"devid\":0,\"bridge\":\"virbr0\"}", ""),
	    "nic 0: bridge virbr0 is not allowed (incoming_bridges)" },
	{ DOM("", DISK, "{\"devid\":0,\"bridge\":\"a\\nb\"}", ""),
	    "nic 0: bridge a?b is not allowed (incoming_bridges)" },
	{ DOM("", DISK, "{\"devid\":0,\"bridge\":[]}", ""),
	    "nic 0: bridge is not a string" },
	{ DOM("", DISK, NIC, ",\"pcidevs\":[{\"bdf\":\"03:00.0\"},"
	    "{\"bdf\":\"03:00.1\"}]"), "PCI passthrough is not allowed "
	    "(2 devices)" },
	{ DOM("", DISK, NIC, ",\"pcidevs\":[{}]"), "PCI passthrough is not "
	    "allowed (1 device)" },
	{ DOM("", DISK, NIC, ",\"dtdevs\":[{\"path\":\"/soc/x\"}]"),
	    "device-tree passthrough is not allowed (1 device)" },
	{ DOM("", DISK, NIC, ",\"usbdevs\":[{},{},{}]"),
	    "USB passthrough is not allowed (3 devices)" },
	{ DOM(",\"iomem\":[{\"start\":1,\"number\":1}]", DISK, NIC, ""),
	    "hardware access (b_info.iomem) is not allowed" },
	{ DOM(",\"irqs\":[5]", DISK, NIC, ""),
	    "hardware access (b_info.irqs) is not allowed" },
	{ DOM(",\"bootloader\":\"pygrub\"", DISK, NIC, ""),
	    "bootloader 'pygrub' is not allowed (incoming_allow_bootloader)" },
	{ DOM(",\"type.pv\":{\"bootloader\":\"/usr/bin/pygrub\"}", DISK, NIC,
	    ""), "bootloader '/usr/bin/pygrub' is not allowed "
	    "(incoming_allow_bootloader)" },
	{ DOM(",\"device_model\":\"/usr/bin/evil-qemu\"", DISK, NIC, ""),
	    "device model override '/usr/bin/evil-qemu' is not allowed "
	    "(incoming_allow_device_model)" },
	{ DOM(",\"device_model_override\":\"/x\"", DISK, NIC, ""),
	    "device model override '/x' is not allowed "
	    "(incoming_allow_device_model)" },
	{ "{\"c_info\":{\"name\":\"web1\"},\"b_info\":{\"max_memkb\":2097152}}",
	    "memory 2048 MiB is over the limit of 1024 MiB "
	    "(incoming_max_memory_mb)" },
	{ "{\"c_info\":{\"name\":\"web1\"},\"b_info\":{\"max_memkb\":1048577}}",
	    "memory 1025 MiB is over the limit of 1024 MiB "
	    "(incoming_max_memory_mb)" },
	{ "{\"c_info\":{\"name\":\"web1\"},\"b_info\":{\"max_memkb\":1048576,"
	    "\"max_vcpus\":8}}", "8 vCPUs is over the limit of 4 "
	    "(incoming_max_vcpus)" },
	{ "{\"c_info\":{\"name\":\"web1\"},\"b_info\":{\"max_memkb\":1},"
	    "\"disks\":{}}", "domain config: disks is not a list" },
	{ "{\"c_info\":{\"name\":\"1\"},\"b_info\":{\"max_memkb\":1}}",
	    "domain config: invalid domain name '1'" },
};

START_TEST(policy_reasons)
{
	struct json_object *o;
	char reason[512];
	int rc;

	o = json_tokener_parse(policy_cases[_i].json);
	ck_assert_msg(o != NULL, "bad test JSON: %s", policy_cases[_i].json);
	reason[0] = '\0';
	rc = domcfg_policy_check(o, &base_policy, reason, sizeof(reason));
	if (policy_cases[_i].reason == NULL)
		ck_assert_msg(rc == 0, "refused: %s", reason);
	else {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(reason, policy_cases[_i].reason);
	}
	json_object_put(o);
}
END_TEST

START_TEST(policy_switches)
{
	struct domcfg_policy pol = base_policy;
	struct json_object *o;
	char reason[256];

	o = json_tokener_parse(DOM(",\"bootloader\":\"pygrub\","
	    "\"device_model\":\"/q\",\"max_vcpus\":64", DISK, NIC, ""));
	ck_assert_ptr_nonnull(o);
	pol.allow_bootloader = 1;
	pol.allow_device_model = 1;
	ck_assert_int_eq(domcfg_policy_check(o, &pol, reason, sizeof(reason)),
	    -1);
	ck_assert_str_eq(reason, "64 vCPUs is over the limit of 4 "
	    "(incoming_max_vcpus)");
	pol.max_vcpus = 0;		/* no ceiling */
	pol.max_memory_kb = 0;
	ck_assert_int_eq(domcfg_policy_check(o, &pol, reason, sizeof(reason)),
	    0);
	json_object_put(o);
}
END_TEST

START_TEST(policy_deny_by_default)
{
	struct domcfg_policy pol;
	struct json_object *o;
	char reason[256];

	memset(&pol, 0, sizeof(pol));
	/* nothing allowed: no disk path, no bridge */
	o = json_tokener_parse(DOM("", DISK, "", ""));
	ck_assert_int_eq(domcfg_policy_check(o, &pol, reason, sizeof(reason)),
	    -1);
	ck_assert_str_eq(reason, "disk xvda: backend path /srv/vm/web1.img is "
	    "not under an allowed path (incoming_disk_paths)");
	json_object_put(o);
	o = json_tokener_parse(DOM("", "", "{\"bridge\":\"xenbr0\"}", ""));
	ck_assert_int_eq(domcfg_policy_check(o, &pol, reason, sizeof(reason)),
	    -1);
	ck_assert_str_eq(reason, "nic 0: bridge xenbr0 is not allowed "
	    "(incoming_bridges)");
	json_object_put(o);
	/* a domain with no devices needs no permission */
	o = json_tokener_parse(DOM("", "", "", ""));
	ck_assert_int_eq(domcfg_policy_check(o, &pol, reason, sizeof(reason)),
	    0);
	json_object_put(o);
}
END_TEST

START_TEST(policy_from_cfg)
{
	struct json_object *o;
	char reason[256];

	/* what xmig create makes passes a policy that allows it */
	o = good("name='web1'\nmemory=512\nvcpus=2\n"
	    "disk=['/srv/vm/web1.img,raw,xvda,rw']\nvif=['']\n");
	ck_assert_int_eq(domcfg_policy_check(o, &base_policy, reason,
	    sizeof(reason)), 0);
	json_object_put(o);
	o = good("name='web1'\nmemory=512\n"
	    "disk=['phy:/srv/vm/web1.img,xvda,w,script=block-drbd']\n");
	ck_assert_int_eq(domcfg_policy_check(o, &base_policy, reason,
	    sizeof(reason)), -1);
	ck_assert_str_eq(reason, "hotplug script override 'block-drbd' on disk "
	    "xvda is not allowed");
	json_object_put(o);
}
END_TEST

static Suite *
domcfg_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("domcfg");

	tc = tcase_create("from_cfg");
	tcase_add_test(tc, from_cfg_minimal);
	tcase_add_test(tc, from_cfg_full);
	tcase_add_test(tc, from_cfg_type_builder_cmdline);
	tcase_add_loop_test(tc, from_cfg_disk_forms, 0,
	    sizeof(disk_forms) / sizeof(disk_forms[0]));
	tcase_add_test(tc, from_cfg_vif_forms);
	tcase_add_loop_test(tc, from_cfg_errors, 0,
	    sizeof(from_cfg_bad) / sizeof(from_cfg_bad[0]));
	tcase_add_test(tc, from_cfg_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_loop_test(tc, parse_errors, 0,
	    sizeof(parse_bad) / sizeof(parse_bad[0]));
	tcase_add_test(tc, parse_bounds);
	tcase_add_test(tc, info_defaults);
	tcase_add_test(tc, name_rules);
	tcase_add_test(tc, migration_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_loop_test(tc, policy_reasons, 0,
	    sizeof(policy_cases) / sizeof(policy_cases[0]));
	tcase_add_test(tc, policy_switches);
	tcase_add_test(tc, policy_deny_by_default);
	tcase_add_test(tc, policy_from_cfg);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(domcfg_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
