/* tc (clsact, cls_bpf direct-action) programs used by ns-vlan.sh.
 *
 * This kernel has no CONFIG_VLAN_8021Q (no "ip link ... type vlan") and no
 * bridge VLAN filtering, so the VLAN tags are pushed/popped by the kernel's
 * own skb_vlan_push()/skb_vlan_pop() via the bpf_skb_vlan_push/pop helpers:
 * egress of a veth pushes the tag(s), ingress of the peer pops them.  The
 * TCP/WebSocket traffic itself is produced by real sockets; tcpdump sees the
 * tagged frames on the parent veth exactly as it would with a VLAN device.
 *
 * Build: clang -O2 -target bpf -c ns-vlan-bpf.c -o X.o -DMODE=...
 *   MODE 1: push 802.1Q VID 100
 *   MODE 2: push 802.1Q VID 100, then 802.1ad VID 200 (outer) -> QinQ
 *   MODE 3: pop up to two tags (ingress)
 */
#include <linux/bpf.h>

#ifndef MODE
#define MODE 1
#endif

#define SEC(n) __attribute__((section(n), used))

static long (*skb_vlan_push)(void *skb, unsigned short proto, unsigned short tci) =
	(void *)BPF_FUNC_skb_vlan_push;
static long (*skb_vlan_pop)(void *skb) = (void *)BPF_FUNC_skb_vlan_pop;

/* protocol argument is network byte order (__be16) */
#define BE16(x) ((unsigned short)((((x) & 0xff) << 8) | (((x) >> 8) & 0xff)))

SEC("tc")
int vlan_prog(struct __sk_buff *skb)
{
#if MODE == 1
	skb_vlan_push(skb, BE16(0x8100), 100);
#elif MODE == 2
	skb_vlan_push(skb, BE16(0x8100), 100);
	skb_vlan_push(skb, BE16(0x88a8), 200);
#else
	if (skb->vlan_present)
		skb_vlan_pop(skb);
	if (skb->vlan_present)
		skb_vlan_pop(skb);
#endif
	return 0; /* TC_ACT_OK */
}

char _license[] SEC("license") = "GPL";
