#!/bin/bash
# list and host-info, local and remote (-H, over mutual TLS via the local
# relocd); create and destroy.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb 'sim_bridges = [ "xenbr0" ]'
conf_set b sim_memory_mb 2048
start_host a || exit 1
start_host b || exit 1
domain_conf "$W/d1.cfg" d1 32 0 200
check "create d1 on B" xmig_on b create "$W/d1.cfg"
out=$(xmig_on a list -H 127.0.0.3 2>&1)
echo "$out" | sed 's/^/    | /'
check "remote list has xm's header" sh -c "echo \"\$0\" | head -n 1 | grep -q '^Name  *ID  *Mem VCPUs  *State  *Time(s)'" "$out"
check "remote list shows d1 running with 32 MiB" sh -c "echo \"\$0\" | grep -q '^d1  *[0-9]*  *32  *1  *r-----'" "$out"
out=$(xmig_on a list 2>&1)
check "A's own list does not show d1" sh -c "! echo \"\$0\" | grep -q '^d1 '" "$out"
out=$(xmig_on a host-info -H 127.0.0.3:$PORT 2>&1)
echo "$out" | sed 's/^/    | /'
check "remote host-info shows B's memory" sh -c "echo \"\$0\" | grep -q '^total_memory_mb  *: 2048'" "$out"
check "remote host-info shows B's free memory" sh -c "echo \"\$0\" | grep -q '^free_memory_mb  *: 2016'" "$out"
check "remote host-info shows B's bridges" sh -c "echo \"\$0\" | grep -q '^bridges  *: xenbr0'" "$out"
out=$(xmig_on b create "$W/d1.cfg" 2>&1); rc=$?
check "second create of d1 refused (rc $rc)" [ $rc -eq 1 ]
check "duplicate create names the problem" sh -c "echo \"\$0\" | grep -qi 'exists'" "$out"
check "destroy d1" xmig_on b destroy d1
check "d1 gone" [ -z "$(dom_state b d1)" ]
out=$(xmig_on b destroy d1 2>&1); rc=$?
check "destroying a missing domain exits 1 with its name" sh -c "[ $rc -eq 1 ] && echo \"\$0\" | grep -q \"'d1' does not exist\"" "$out"
finish
