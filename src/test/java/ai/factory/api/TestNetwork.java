package ai.factory.api;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A network of its own for a cluster test, as if each worker were a machine: a bridge in this network namespace with
 * the address {@link #hostAddress()}, and one network namespace per host, joined to the bridge by a veth pair, with an
 * address of its own ({@link #address}). A process started with {@link #exec} sees only its namespace's loopback and
 * that address: nothing it serves is reachable on this namespace's loopback, and the control plane must dial the
 * address it joined from. Made with iproute2, which needs CAP_NET_ADMIN (root); {@link #available()} says whether
 * this machine lets a test make one. Everything is named after this JVM's process id and removed on close; a run
 * killed before its close leaves names that the next {@link #create} removes.
 */
final class TestNetwork implements AutoCloseable {
    private static final String PREFIX = "fct";
    private static final Pattern OURS = Pattern.compile("^" + PREFIX + "(\\d+)");
    private static volatile Boolean available;

    private final String bridge;
    private final String subnet;
    private final List<String> namespaces;

    private TestNetwork(String bridge, String subnet, List<String> namespaces) {
        this.bridge = bridge;
        this.subnet = subnet;
        this.namespaces = namespaces;
    }

    /**
     * Whether this network can be made here: a namespace, a bridge and a veth pair into the namespace (root, or the
     * capabilities to administer networks and namespaces, and iproute2). Tried once, and undone.
     */
    static boolean available() {
        Boolean known = available;
        if (known == null) {
            String tag = PREFIX + ProcessHandle.current().pid();
            String ns = tag + "-probe";
            known = run(List.of("ip", "netns", "add", ns)).isEmpty()
                    && run(List.of("ip", "link", "add", tag + "pb", "type", "bridge")).isEmpty()
                    && run(List.of("ip", "link", "add", tag + "ph", "type", "veth", "peer", "name", tag + "pn")).isEmpty()
                    && run(List.of("ip", "link", "set", tag + "pn", "netns", ns)).isEmpty()
                    && run(List.of("ip", "link", "set", tag + "ph", "master", tag + "pb")).isEmpty();
            run(List.of("ip", "netns", "del", ns));
            run(List.of("ip", "link", "del", tag + "ph"));
            run(List.of("ip", "link", "del", tag + "pb"));
            available = known;
        }
        return known;
    }

    /** A bridge and {@code hosts} namespaces on a /24 that no interface of this machine uses. */
    static TestNetwork create(int hosts) throws IOException {
        if (hosts < 1 || hosts > 10) {
            throw new IllegalArgumentException("1 to 10 hosts, not " + hosts);
        }
        removeLeftovers();
        long pid = ProcessHandle.current().pid();
        String tag = PREFIX + pid;
        String subnet = freeSubnet();
        String bridge = tag + "br";
        List<String> namespaces = new ArrayList<>();
        TestNetwork network = new TestNetwork(bridge, subnet, namespaces);
        try {
            must(List.of("ip", "link", "add", bridge, "type", "bridge"));
            must(List.of("ip", "addr", "add", subnet + ".1/24", "dev", bridge));
            must(List.of("ip", "link", "set", bridge, "up"));
            for (int n = 0; n < hosts; n++) {
                String ns = tag + "-h" + n;
                String outside = tag + "h" + n;
                String inside = tag + "n" + n;
                must(List.of("ip", "netns", "add", ns));
                namespaces.add(ns);
                must(List.of("ip", "link", "add", outside, "type", "veth", "peer", "name", inside));
                must(List.of("ip", "link", "set", inside, "netns", ns));
                must(List.of("ip", "link", "set", outside, "master", bridge));
                must(List.of("ip", "link", "set", outside, "up"));
                must(List.of("ip", "-n", ns, "addr", "add", subnet + "." + (n + 2) + "/24", "dev", inside));
                must(List.of("ip", "-n", ns, "link", "set", inside, "up"));
                must(List.of("ip", "-n", ns, "link", "set", "lo", "up"));
            }
            network.awaitConnected();
            return network;
        } catch (IOException | RuntimeException e) {
            network.close();
            throw e;
        }
    }

    /** This namespace's address on the network: where processes in the namespaces reach this one. */
    String hostAddress() {
        return subnet + ".1";
    }

    /** Host {@code n}'s address. */
    String address(int n) {
        java.util.Objects.checkIndex(n, namespaces.size());
        return subnet + "." + (n + 2);
    }

    /** The command prefix that runs a program in host {@code n}'s namespace. */
    List<String> exec(int n) {
        return List.of("ip", "netns", "exec", namespaces.get(n));
    }

    /**
     * Ends what still runs in the namespaces and removes them (their ends of the veth pairs go with them, and so the
     * other ends), the bridge, and any link of this network left over.
     */
    @Override
    public void close() {
        removeAll(PREFIX + ProcessHandle.current().pid());
    }

    /** Removes every namespace and link whose name starts with {@code tag}, ending the processes in them first. */
    private static void removeAll(String tag) {
        try {
            for (String line : runOut(List.of("ip", "netns", "list")).lines().toList()) {
                String ns = line.split(" ")[0];
                if (ns.startsWith(tag + "-")) {
                    for (String pid : runOut(List.of("ip", "netns", "pids", ns)).lines().toList()) {
                        ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                    run(List.of("ip", "netns", "del", ns));
                }
            }
            for (String line : runOut(List.of("ip", "-o", "link", "show")).lines().toList()) {
                String[] fields = line.split(":\\s+");
                String name = fields.length > 1 ? fields[1].split("@")[0] : "";
                // This network's links: the tag and a two-letter suffix (br, h0, n0, pb, ...), not another pid's.
                if (name.startsWith(tag) && name.substring(tag.length()).matches("[a-z][a-z0-9]")) {
                    run(List.of("ip", "link", "del", name));
                }
            }
        } catch (IOException | NumberFormatException e) {
            System.err.println("TestNetwork: cannot remove what " + tag + " made: " + e.getMessage());
        }
    }

    /**
     * Waits until every namespace reaches this one: a new bridge port may drop the first packets for a moment, and a
     * worker that cannot join at once would fail its test for nothing.
     */
    private void awaitConnected() throws IOException {
        try (ServerSocket listening = new ServerSocket(0, 50, InetAddress.getByName(hostAddress()))) {
            for (String ns : namespaces) {
                String probe = "exec 3<>/dev/tcp/" + hostAddress() + "/" + listening.getLocalPort();
                long end = System.nanoTime() + 10_000_000_000L;
                while (!run(List.of("ip", "netns", "exec", ns, "timeout", "2", "bash", "-c", probe)).isEmpty()) {
                    if (System.nanoTime() > end) {
                        throw new IOException("namespace " + ns + " does not reach " + hostAddress());
                    }
                    sleep();
                }
            }
        }
    }

    /** A 10.213.N.0/24 that no address or route of this machine is in. */
    private static String freeSubnet() throws IOException {
        String used = runOut(List.of("ip", "-4", "-o", "addr")) + runOut(List.of("ip", "-4", "route"));
        int start = (int) (ProcessHandle.current().pid() % 200);
        for (int i = 0; i < 250; i++) {
            String candidate = "10.213." + (start + i) % 250;
            if (!used.contains(candidate + ".")) {
                return candidate;
            }
        }
        throw new IOException("no free 10.213.N.0/24 here");
    }

    /** What test JVMs that are gone (killed before their close) left: namespaces, their processes, links. */
    private static void removeLeftovers() throws IOException {
        java.util.Set<String> gone = new java.util.TreeSet<>();
        String names = runOut(List.of("ip", "netns", "list")) + runOut(List.of("ip", "-o", "link", "show"));
        for (String line : names.lines().toList()) {
            String[] fields = line.split(":\\s+");
            String name = line.matches("^\\d+:.*") && fields.length > 1 ? fields[1] : line.split(" ")[0];
            Matcher m = OURS.matcher(name);
            if (m.find() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
                gone.add(PREFIX + m.group(1));
            }
        }
        gone.forEach(TestNetwork::removeAll);
    }

    private static void must(List<String> command) throws IOException {
        String failed = run(command);
        if (!failed.isEmpty()) {
            throw new IOException(String.join(" ", command) + " failed: " + failed);
        }
    }

    /** Runs {@code command}; empty when it exited 0, else what it printed (or why it could not run). */
    private static String run(List<String> command) {
        try {
            Path out = Files.createTempFile("ip", ".out");
            try {
                Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
                int status = p.waitFor();
                String printed = Files.readString(out, StandardCharsets.UTF_8).strip();
                return status == 0 ? "" : "exit " + status + (printed.isEmpty() ? "" : ": " + printed);
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            return String.valueOf(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static String runOut(List<String> command) throws IOException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + printed.strip());
            }
            return printed;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
