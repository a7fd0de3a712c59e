/* pcapfloor.c - the floor for reading a capture: a bare libpcap loop over every packet of a file,
 * touching each packet's bytes lightly (a byte sum of every 64th byte), printing packets and
 * bytes. bench/run.sh compares wstap against it. (issue #7)
 *
 *   cc -O2 -Wall -Wextra -Werror -o pcapfloor bench/pcapfloor.c $(pkg-config --cflags --libs libpcap)
 *   pcapfloor FILE
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t packets = 0, bytes = 0, wire = 0;
    uint32_t sum = 0;
    pcap_t *p;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: pcapfloor FILE\n");
        return 2;
    }
    p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "pcapfloor: %s\n", err);
        return 2;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        packets++;
        bytes += h->caplen;
        wire += h->len;
        for (bpf_u_int32 i = 0; i < h->caplen; i += 64)
            sum += data[i];
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "pcapfloor: %s\n", pcap_geterr(p));
        pcap_close(p);
        return 2;
    }
    pcap_close(p);
    printf("packets %llu bytes %llu wire %llu sum %08x\n", (unsigned long long)packets,
           (unsigned long long)bytes, (unsigned long long)wire, (unsigned)sum);
    return 0;
}
