package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Where the factory itself may connect out to: a list of {@code host[:port]} patterns, the setting
 * {@code egress.allow}. Empty (the default) refuses every outbound connection, loopback included.
 *
 * <p>A host is a name or an IP address; {@code *.example.com} matches any name under example.com (not
 * example.com itself); a lone {@code *} matches any host, so it must be written on purpose. A missing port, or
 * {@code :*}, matches any port. Names are compared case-insensitively; no DNS lookup is made, so a pattern
 * naming an address does not allow a name that resolves to it.
 */
public record EgressPolicy(List<Rule> rules) {
    private static final Pattern HOST = Pattern.compile("(\\*|(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+])");

    public EgressPolicy {
        rules = List.copyOf(requireNonNull(rules, "rules is null"));
    }

    /** One allowed destination pattern; {@code port} 0 means any port. */
    public record Rule(String host, int port) {
        public Rule {
            requireNonNull(host, "host is null");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535");
            }
        }

        boolean matches(String destinationHost, int destinationPort) {
            if (port != 0 && port != destinationPort) {
                return false;
            }
            String h = destinationHost.toLowerCase(Locale.ROOT);
            if (host.equals("*")) {
                return true;
            }
            if (host.startsWith("*.")) {
                return h.endsWith(host.substring(1));
            }
            return h.equals(host);
        }

        @Override
        public String toString() {
            return port == 0 ? host : host + ":" + port;
        }
    }

    public static EgressPolicy denyAll() {
        return new EgressPolicy(List.of());
    }

    /** Parses {@code egress.allow}: comma-separated patterns; blank means none. */
    public static EgressPolicy parse(String text) {
        List<Rule> rules = new ArrayList<>();
        for (String part : text.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            rules.add(rule(p));
        }
        return new EgressPolicy(rules);
    }

    private static Rule rule(String pattern) {
        if (pattern.contains("/")) {
            throw new IllegalArgumentException("'" + pattern + "' is not a host[:port] pattern (no scheme or path); "
                    + "write e.g. models.example.com:443");
        }
        String host = pattern;
        int port = 0;
        int colon = pattern.lastIndexOf(':');
        boolean bracketed = pattern.startsWith("[");
        if (colon > 0 && (!bracketed || pattern.lastIndexOf(']') < colon)) {
            host = pattern.substring(0, colon);
            String portText = pattern.substring(colon + 1);
            if (!portText.equals("*")) {
                try {
                    port = Integer.parseInt(portText);
                } catch (NumberFormatException e) {
                    port = -1;
                }
                if (port < 1 || port > 65535) {
                    throw new IllegalArgumentException("'" + pattern + "' has a bad port; write host, host:443 or host:*");
                }
            }
        }
        if (!HOST.matcher(host).matches()) {
            throw new IllegalArgumentException("'" + pattern + "' is not a host[:port] pattern; write e.g. "
                    + "models.example.com:443, *.example.com or 10.0.0.5");
        }
        return new Rule(host.toLowerCase(Locale.ROOT), port);
    }

    /** Whether a connection to {@code host:port} is allowed. */
    public boolean allows(String host, int port) {
        String h = host.startsWith("[") || !host.contains(":") ? host : "[" + host + "]";
        return rules.stream().anyMatch(r -> r.matches(h, port));
    }

    @Override
    public String toString() {
        return rules.isEmpty() ? "(none)" : String.join(",", rules.stream().map(Rule::toString).toList());
    }
}
