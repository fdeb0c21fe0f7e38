package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the kernel's socket table as Linux writes it (the tests' own tables, in this host's byte order). */
class ClientDeparturesTest {
    @TempDir
    Path dir;

    private static final String HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
            + "timeout inode\n";

    /** 127.0.0.1 as the table writes it: one 32-bit word in the host's byte order. */
    private static String loopback4() {
        return ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? "0100007F" : "7F000001";
    }

    @Test
    void readsIpv4AndIpv4MappedIpv6ConnectionsWithTheirStates() throws Exception {
        Path tcp = Files.writeString(dir.resolve("tcp"), HEADER
                + "   0: " + loopback4() + ":1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n"
                + "   1: " + loopback4() + ":1F90 " + loopback4() + ":C350 01 00000000:00000000 00:00000000 00000000     0        0 2\n"
                + "garbage line\n"
                + "   2: " + loopback4() + ":1F90 " + loopback4() + ":zz 01\n");
        String mapped = "0000000000000000" + (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? "FFFF0000" : "0000FFFF")
                + loopback4();
        Path tcp6 = Files.writeString(dir.resolve("tcp6"), HEADER
                + "   0: " + mapped + ":1F90 " + mapped + ":C351 08 00000000:00000000 00:00000000 00000000     0        0 3\n");

        Map<ClientDepartures.Connection, Integer> states = ClientDepartures.states(List.of(tcp, tcp6));

        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        assertThat(states).containsEntry(new ClientDepartures.Connection(8080, loopback, 50000), 1)
                .containsEntry(new ClientDepartures.Connection(8080, loopback, 50001), 8)
                .hasSize(3); // the listening socket, 0.0.0.0:0, is there too; the bad lines are not
    }

    @Test
    void noTableAtAllIsAnError() {
        assertThatThrownBy(() -> ClientDepartures.states(List.of(dir.resolve("absent"))))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("no socket table");
    }
}
