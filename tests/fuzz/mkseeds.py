#!/usr/bin/env python3
"""Write the seed corpus of every fuzz target into tests/fuzz/corpus/.

Run once when a format changes; the output is committed (small, no
secrets).  Each seed is a valid or nearly valid input, so the fuzzer
starts past the first checks: frames, xl headers with configs, config
files, allow-list entries, domain configs, and whole peer sessions
(request frame + xl header + config + fake stream + "go").
"""
import hashlib
import json
import os
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = 0x524C4344
XL_MAGIC = b"Xen saved domain, xl format\n \0 \r"
GO = b"domain is yours, you are cleared to unpause\0"


def frame(ftype, body, flags=0, version=1):
    b = json.dumps(body, separators=(",", ":")).encode()
    return struct.pack(">IBBHI", MAGIC, version, ftype, flags, len(b)) + b


def rawframe(ftype, body, flags=0):
    return struct.pack(">IBBHI", MAGIC, 1, ftype, flags, len(body)) + body


# The copy's tag key in the seeds' requests (diskcopy.h: AES-128-GMAC).
KEY = "0102030405060708090a0b0c0d0e0f10"


def gmac(disk, index, logical):
    """A chunk's tag, by the openssl command (no Python module needed)."""
    nonce = struct.pack(">IQ", disk, index).hex()
    out = subprocess.run(["openssl", "mac", "-cipher", "AES-128-GCM",
                          "-macopt", "hexkey:" + KEY, "-macopt",
                          "hexiv:" + nonce, "GMAC"], input=logical,
                         capture_output=True, check=True).stdout
    return bytes.fromhex(out.decode().strip())


def chunk(disk, index, exts, data, chunklen=1 << 20, damage=False):
    """A PT_DISK_CHUNK frame (common/diskcopy.h) and its tag."""
    logical = bytearray(chunklen)
    pos = 0
    for off, ln in exts:
        logical[off:off + ln] = data[pos:pos + ln]
        pos += ln
    tag = gmac(disk, index, bytes(logical))
    body = struct.pack(">IIQ", disk, len(exts), index) + tag
    for off, ln in exts:
        body += struct.pack(">II", off, ln)
    body += (bytes([data[0] ^ 0x5A]) + data[1:]) if damage else data
    return rawframe(0x62, body), tag


def domcfg(name="web1", mem_kb=65536, vcpus=1, uuid=None, disks=None,
           nics=None, extra=None):
    d = {
        "c_info": {"type": "pv", "name": name,
                   "uuid": uuid or "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
        "b_info": {"max_vcpus": vcpus, "max_memkb": mem_kb,
                   "target_memkb": mem_kb},
        "disks": disks or [],
        "nics": nics or [],
        "on_poweroff": "destroy",
        "xmig_sim": {"tick_ms": 100, "dirty_rate": 0},
    }
    d.update(extra or {})
    return d


def xlhdr(cfg):
    j = json.dumps(cfg).encode() + b"\0"
    opt = struct.pack("<I", len(j)) + j
    return XL_MAGIC + struct.pack("<IIII", 0x01020304, 1, 0, len(opt)) + opt


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


GOOD = domcfg(disks=[{"pdev_path": "/srv/xen/web1.img", "vdev": "xvda",
                      "format": "raw", "readwrite": 1}],
              nics=[{"devid": 0, "bridge": "xenbr0",
                     "mac": "00:16:3e:00:00:01"}])
BAD = {
    "pci": domcfg(extra={"pcidevs": [{"bus": 1, "dev": 0, "func": 0}]}),
    "script": domcfg(nics=[{"devid": 0, "bridge": "xenbr0",
                            "script": "/tmp/evil"}]),
    "disk": domcfg(disks=[{"pdev_path": "/etc/shadow", "vdev": "xvda"}]),
    "dotdot": domcfg(disks=[{"pdev_path": "/srv/xen/../../etc/shadow",
                             "vdev": "xvda"}]),
    "bridge": domcfg(nics=[{"devid": 0, "bridge": "nosuchbr"}]),
    "bootloader": domcfg(extra={}),
    "mem": domcfg(mem_kb=64 * 1024 * 1024),
    "vcpus": domcfg(vcpus=4096),
    "exists": domcfg(name="existing"),
}
BAD["bootloader"]["b_info"]["bootloader"] = "/usr/bin/pygrub"
BAD["dm"] = domcfg()
BAD["dm"]["b_info"]["device_model_override"] = "qemu_xen"

# frames
write("fuzz_frame", "list", frame(0x01, {}))
write("fuzz_frame", "hostinfo", frame(0x02, {}))
write("fuzz_frame", "preflight", frame(0x03, {"config": GOOD}))
write("fuzz_frame", "migrate", b"\1" + frame(0x04, {"config": GOOD})[1:])
write("fuzz_frame", "error", frame(0x81, {"code": "x", "message": "y"}))
write("fuzz_frame", "toobig", struct.pack(">IBBHI", MAGIC, 1, 1, 0,
                                          0xFFFFFFFF))
write("fuzz_frame", "mandatory", frame(0x01, {}, flags=0x0800))
write("fuzz_frame", "version", frame(0x01, {}, version=9))

# xl header + config
write("fuzz_xlhdr", "good", xlhdr(GOOD))
for k, v in BAD.items():
    write("fuzz_xlhdr", k, xlhdr(v))

# domain-config policy: knob byte + JSON
write("fuzz_domcfg", "good", b"\x7f" + json.dumps(GOOD).encode())
write("fuzz_domcfg", "minimal", b"\x00" + json.dumps(domcfg()).encode())
for k, v in BAD.items():
    write("fuzz_domcfg", k, b"\x7f" + json.dumps(v).encode())

# config files: relocd.conf and xl domain configs
write("fuzz_cfg", "relocd.conf", """\
relocation_address = "127.0.0.2"
relocation_port = 8003
relocation_hosts_allow = [ "hosta", "*.example.org", "10.0.0.0/8",
    "^host[ab]\\\\.example\\\\.org$", ]
tls_min_version = "1.2"
tls_crl_file = ""
backend = "sim"
max_migrations = 4 ; accept_migrations = 1
max_unauthenticated = 64
max_unauthenticated_per_source = 8
incoming_disk_paths = [ "/srv/xen/" ]
incoming_bridges = [ "xenbr0" ]
incoming_max_memory_mb = 4096
""")
write("fuzz_cfg", "xend-allow.conf",
      "relocation_hosts_allow = '^localhost$ ^.*\\\\.example\\\\.org$'\n")
write("fuzz_cfg", "domain.cfg", """\
name = "web1"
memory = 64
maxmem = 128
vcpus = 2
uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
disk = [ "target=/srv/xen/web1.img,vdev=xvda,access=rw",
         "/srv/xen/data.img,raw,xvdb,ro" ]
vif = [ "bridge=xenbr0,mac=00:16:3e:00:00:01" ]
on_crash = "restart"
sim_tick_ms = 100
sim_dirty_rate = 50
""")
write("fuzz_cfg", "pci.cfg", 'name = "x"\nmemory = 16\npci = [ "01:00.0" ]\n'
      'bootloader = "pygrub"\n')

# allow-list entries, NUL, names
write("fuzz_allow", "mixed", b"hosta\n*.example.org\n10.0.0.0/8\n"
      b"2001:db8::/32\n^host[ab]\\.example\\.org$\n127.0.0.2\0"
      b"hosta\nweb.example.org\n127.0.0.2\x7f\x00\x00\x02")
write("fuzz_allow", "bad", b"10.0.0.1/33\n*.\n^(unclosed\n\0x")

# whole peer sessions
stream = struct.pack("<I", 16) + b"S" * 16
write("fuzz_session", "list", frame(0x01, {}))
write("fuzz_session", "preflight", frame(0x03, {"config": GOOD}))
write("fuzz_session", "migrate-ok",
      frame(0x04, {"config": GOOD}) + xlhdr(GOOD) + stream + GO)
write("fuzz_session", "migrate-nogo",
      frame(0x04, {"config": GOOD}) + xlhdr(GOOD) + stream)
write("fuzz_session", "migrate-noconfig",
      frame(0x04, {}) + xlhdr(GOOD) + stream + GO)
write("fuzz_session", "migrate-swap",
      frame(0x04, {"config": GOOD}) + xlhdr(BAD["pci"]) + stream + GO)
for k, v in BAD.items():
    write("fuzz_session", "migrate-" + k,
          frame(0x04, {"config": v}) + xlhdr(v) + stream + GO)
write("fuzz_session", "control-only", frame(0x21, {"config": GOOD}))
# A peer asking for a forced restart: by record, and with a config
# (refused: a peer may not hand us a domain to create).
write("fuzz_session", "force", frame(0x11, {"domain": "web1", "by": "x"}))
write("fuzz_session", "force-config",
      frame(0x11, {"domain": "web1", "from": "h", "config": GOOD}))
write("fuzz_session", "speedtest", frame(0x40, {"bytes": 4096}) + b"\0" * 4096)
write("fuzz_session", "speedtest-short",
      frame(0x40, {"bytes": 4096}) + b"\0" * 100)
write("fuzz_session", "speedtest-huge", frame(0x40, {"bytes": 1 << 62}))

# copy-storage sessions: the flagged request (copy storage and the
# receiver's prepare step, 0x0500) with the disks offered, the framed
# stream, the disk's chunks and end, "go".
COPYCFG = domcfg(disks=[{"pdev_path": "/var/lib/xen/images/web1.img",
                         "vdev": "xvda", "format": "raw", "readwrite": 1}])
OFFER = {"disks": [{"vdev": "xvda", "path": "/var/lib/xen/images/web1.img",
                    "size": 4 << 20, "allocated": 8192}], "key": KEY}
data = b"A" * 4096 + b"B" * 4096
c0, t0 = chunk(0, 0, [(0, 4096)], data[:4096])
c2, t2 = chunk(0, 2, [(8192, 4096)], data[4096:])
image = hashlib.sha256(struct.pack(">Q", 0) + t0 +
                       struct.pack(">Q", 2) + t2).hexdigest()
req = frame(0x04, {"config": COPYCFG, "copy_storage": OFFER},
            flags=0x0500)
framed = rawframe(0x60, stream) + frame(0x61, {})
end = frame(0x63, {"disk": 0, "chunks": 2, "bytes": 8192, "digest": image})
write("fuzz_session", "copy-ok",
      req + xlhdr(COPYCFG) + framed + c0 + c2 + end + GO)
write("fuzz_session", "copy-damaged",
      req + xlhdr(COPYCFG) + framed + chunk(0, 0, [(0, 4096)], data[:4096],
                                            damage=True)[0] + c2 + end + GO)
write("fuzz_session", "copy-order",
      req + xlhdr(COPYCFG) + framed + c2 + c0 + end + GO)
write("fuzz_session", "copy-beyond",
      req + xlhdr(COPYCFG) + framed + chunk(0, 9, [(0, 4096)],
                                            data[:4096])[0] + end + GO)
write("fuzz_session", "copy-noflag",
      frame(0x04, {"config": COPYCFG, "copy_storage": OFFER}) +
      xlhdr(COPYCFG) + stream + GO)
write("fuzz_session", "copy-noprepare",
      frame(0x04, {"config": COPYCFG, "copy_storage": OFFER}, flags=0x0100) +
      xlhdr(COPYCFG) + framed + c0 + c2 + end + GO)
write("fuzz_session", "copy-unframed",
      req + xlhdr(COPYCFG) + stream + c0 + end + GO)
write("fuzz_frame", "copy-flag", frame(0x04, {"config": COPYCFG,
                                              "copy_storage": OFFER},
                                       flags=0x0500))
write("fuzz_frame", "copy-flag-list", frame(0x01, {}, flags=0x0100))
write("fuzz_frame", "copy-prepare-list", frame(0x01, {}, flags=0x0400))

# live copy-storage sessions (flags 0x0700): chunks of any order while the
# source runs, chunk 0 again, chunk 2 turned to zeros (no extents), the
# pre-copy's end, the framed stream, chunk 2 again, and the end whose
# digest is over the final chunks only.
zeros2 = rawframe(0x62, struct.pack(">IIQ", 0, 0, 2) +
                  gmac(0, 2, bytes(1 << 20)))
c0b, t0b = chunk(0, 0, [(0, 4096)], b"C" * 4096)
lreq = frame(0x04, {"config": COPYCFG, "copy_storage": OFFER, "live": 1},
             flags=0x0700)
pre = frame(0x64, {"rounds": 2, "chunks": 4})
final = hashlib.sha256(struct.pack(">Q", 0) + t0b +
                       struct.pack(">Q", 2) + t2).hexdigest()
lend = frame(0x63, {"disk": 0, "chunks": 2, "bytes": 8192, "digest": final})
write("fuzz_session", "copy-live-ok",
      lreq + xlhdr(COPYCFG) + c2 + c0 + c0b + zeros2 + pre + framed + c2 +
      lend + GO)
write("fuzz_session", "copy-live-stale",
      lreq + xlhdr(COPYCFG) + c0 + c2 + pre + framed + c0b + end + GO)
write("fuzz_session", "copy-live-noprecopy",
      lreq + xlhdr(COPYCFG) + framed + c0 + end + GO)
write("fuzz_session", "copy-live-zero-offline",
      req + xlhdr(COPYCFG) + framed + zeros2 + end + GO)
write("fuzz_frame", "copy-live-flag", lreq)
write("fuzz_frame", "copy-live-noflag", frame(0x04, {}, flags=0x0200))
