package ai.factory.api;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.Request;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices that the client of a request in progress has gone, so that a call nobody waits for any more stops and
 * frees its slot instead of generating to its token limit.
 *
 * <p>Over HTTP/2 a client that gives up resets its stream (or the connection closes), which fails the request;
 * Jetty tells a failure listener. Over HTTP/1.x Jetty does not read a connection while its request is being
 * handled, so a client that closed it goes unnoticed until the answer is written, which for a non-streamed call is
 * the end of the generation. For those requests the connection's TCP state is read from the kernel's socket table
 * ({@code /proc/self/net/tcp} and {@code tcp6}, Linux) every {@value #PERIOD_MILLIS} ms while any is watched: a
 * connection that is no longer {@code ESTABLISHED} (the client closed or reset it) has no one waiting on it. Where
 * that table cannot be read, HTTP/1.x departures are noticed at the next write, as streams notice them.
 *
 * <p>A client that half-closes its connection after sending the request (rare; no SDK does) reads as gone.
 */
final class ClientDepartures {
    private static final Logger LOG = LoggerFactory.getLogger(ClientDepartures.class);
    static final long PERIOD_MILLIS = 200;
    private static final List<Path> TABLES = List.of(Path.of("/proc/self/net/tcp"), Path.of("/proc/self/net/tcp6"));
    /** {@code TCP_ESTABLISHED} in the kernel's numbering, as the table shows states. */
    private static final int ESTABLISHED = 1;

    private final List<Path> tables;
    private final Duration period;
    private final Map<Connection, Set<Watch>> watched = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    private @Nullable Thread poller;
    private volatile boolean tablesUnreadable;

    ClientDepartures() {
        this(TABLES, Duration.ofMillis(PERIOD_MILLIS));
    }

    ClientDepartures(List<Path> tables, Duration period) {
        this.tables = List.copyOf(tables);
        this.period = requireNonNull(period, "period is null");
    }

    /** A request's watch; closing it (when the call has ended) stops the watching. */
    interface Watch extends AutoCloseable {
        @Override
        void close();
    }

    /** Runs {@code onDeparture} once if the client of {@code request} goes away before the watch is closed. */
    Watch watch(Request request, Runnable onDeparture) {
        requireNonNull(request, "request is null");
        requireNonNull(onDeparture, "onDeparture is null");
        Once once = new Once(onDeparture);
        request.addFailureListener(failure -> once.run());
        Connection connection = http1(request) ? Connection.of(request.getConnectionMetaData()
                .getLocalSocketAddress(), request.getConnectionMetaData().getRemoteSocketAddress()) : null;
        if (connection == null || tablesUnreadable) {
            return once::close;
        }
        watched.computeIfAbsent(connection, c -> ConcurrentHashMap.newKeySet()).add(once);
        startPolling();
        return () -> {
            once.close();
            watched.computeIfPresent(connection, (c, set) -> {
                set.remove(once);
                return set.isEmpty() ? null : set;
            });
        };
    }

    private static boolean http1(Request request) {
        HttpVersion version = request.getConnectionMetaData().getHttpVersion();
        return version == HttpVersion.HTTP_1_0 || version == HttpVersion.HTTP_1_1;
    }

    private void startPolling() {
        synchronized (lock) {
            if (poller == null) {
                poller = Thread.ofVirtual().name("client-departures").start(this::poll);
            }
        }
    }

    private void poll() {
        while (true) {
            synchronized (lock) {
                if (watched.isEmpty()) {
                    poller = null;
                    return;
                }
            }
            try {
                Thread.sleep(period);
                check();
            } catch (InterruptedException e) {
                synchronized (lock) {
                    poller = null;
                }
                return;
            } catch (UncheckedIOException e) {
                LOG.warn("cannot read the kernel's socket table ({}); a client that closes its HTTP/1.1 connection is "
                        + "noticed when its answer is written", e.getMessage());
                tablesUnreadable = true;
                watched.clear();
            }
        }
    }

    /** One look at the socket table: every watched connection that is no longer established has lost its client. */
    void check() {
        if (watched.isEmpty()) {
            return;
        }
        Map<Connection, Integer> states = states(tables);
        for (Map.Entry<Connection, Set<Watch>> e : watched.entrySet()) {
            Integer state = states.get(e.getKey());
            if (state == null || state != ESTABLISHED) {
                Set<Watch> gone = watched.remove(e.getKey());
                if (gone != null) {
                    gone.forEach(w -> ((Once) w).run());
                }
            }
        }
    }

    /**
     * The TCP state of every connection in the tables, by its local port and remote end. Lines read
     * {@code sl local_address rem_address st ...}; an address is its bytes as 32-bit words in the host's byte order,
     * in hex, then {@code :} and the port in hex.
     */
    static Map<Connection, Integer> states(List<Path> tables) {
        Map<Connection, Integer> states = new HashMap<>();
        for (Path table : tables) {
            if (!Files.exists(table)) {
                continue;
            }
            try (Stream<String> lines = Files.lines(table)) {
                lines.skip(1).forEach(line -> {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 3) {
                        Connection c = parse(f[1], f[2]);
                        if (c != null) {
                            states.put(c, Integer.parseInt(f[3], 16));
                        }
                    }
                });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (states.isEmpty() && tables.stream().noneMatch(Files::exists)) {
            throw new UncheckedIOException(new IOException("no socket table at " + tables));
        }
        return states;
    }

    private static @Nullable Connection parse(String local, String remote) {
        int l = local.lastIndexOf(':');
        int r = remote.lastIndexOf(':');
        if (l < 0 || r < 0) {
            return null;
        }
        try {
            return new Connection(Integer.parseInt(local.substring(l + 1), 16),
                    address(remote.substring(0, r)), Integer.parseInt(remote.substring(r + 1), 16));
        } catch (NumberFormatException | UnknownHostException e) {
            return null;
        }
    }

    private static InetAddress address(String hex) throws UnknownHostException {
        byte[] bytes = new byte[hex.length() / 2];
        boolean little = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
        for (int word = 0; word < bytes.length / 4; word++) {
            int value = Integer.parseUnsignedInt(hex.substring(word * 8, word * 8 + 8), 16);
            for (int i = 0; i < 4; i++) {
                int shift = little ? 8 * i : 8 * (3 - i);
                bytes[word * 4 + i] = (byte) (value >>> shift);
            }
        }
        // An IPv4-mapped IPv6 address (a dual-stack socket's IPv4 peer) comes back as the IPv4 address.
        return InetAddress.getByAddress(bytes);
    }

    /** A TCP connection as the server sees it: its local port and the client's address and port. */
    record Connection(int localPort, InetAddress remote, int remotePort) {
        static @Nullable Connection of(SocketAddress local, SocketAddress remote) {
            if (local instanceof InetSocketAddress l && remote instanceof InetSocketAddress r && r.getAddress() != null) {
                return new Connection(l.getPort(), r.getAddress(), r.getPort());
            }
            return null;
        }
    }

    /** Runs its action at most once, and never after it is closed. */
    private static final class Once implements Watch {
        private @Nullable Runnable action;

        Once(Runnable action) {
            this.action = action;
        }

        void run() {
            Runnable a;
            synchronized (this) {
                a = action;
                action = null;
            }
            if (a != null) {
                a.run();
            }
        }

        @Override
        public synchronized void close() {
            action = null;
        }
    }
}
