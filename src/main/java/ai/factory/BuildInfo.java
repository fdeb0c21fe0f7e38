package ai.factory;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.Properties;

/**
 * What this build of the factory is, from {@code ai/factory/build.properties}, which the build fills in: the
 * project's version, the commit it was built from ({@code git rev-parse}), whether tracked files differed from that
 * commit, and the version of the llama.cpp natives it is pinned to ({@code llama.natives.version} in pom.xml). A
 * value the build did not fill in (classes compiled by an IDE, a source archive without .git) is absent.
 */
public record BuildInfo(Optional<String> version, Optional<String> commit, boolean modified, Optional<String> llamaNatives) {
    public static final String RESOURCE = "/ai/factory/build.properties";

    public BuildInfo {
        requireNonNull(version, "version is null");
        requireNonNull(commit, "commit is null");
        requireNonNull(llamaNatives, "llamaNatives is null");
    }

    public static BuildInfo load() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream(RESOURCE)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
        return of(p);
    }

    public static BuildInfo of(Properties p) {
        return new BuildInfo(value(p, "version"), value(p, "commit").filter(c -> !c.equals("unknown")),
                value(p, "modified").map(Boolean::parseBoolean).orElse(false), value(p, "llamaNativesVersion"));
    }

    /** A value the build filled in; one still reading {@code ${…}} was not. */
    private static Optional<String> value(Properties p, String key) {
        return Optional.ofNullable(p.getProperty(key)).map(String::strip).filter(v -> !v.isEmpty() && !v.contains("${"));
    }

    /** Where the build put the factory's SBOM (CycloneDX JSON of its runtime dependencies). */
    public static final String SBOM = "/META-INF/sbom/factory.cdx.json";

    /** The SBOM the build put into the jar, if it did. */
    public static Optional<byte[]> sbom() {
        try (InputStream in = BuildInfo.class.getResourceAsStream(SBOM)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + SBOM, e);
        }
    }

    /** The SHA-256 of the SBOM the build put into the jar, in hex, if it did. */
    public static Optional<String> sbomSha256() {
        return sbom().map(bytes -> {
            try {
                return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                        .digest(bytes));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("every JDK has SHA-256", e);
            }
        });
    }

    /** {@code factory 0.1.0 (commit 1a2b3c4)}, with {@code , with local changes} when tracked files differed. */
    public String factoryLine() {
        return "factory " + version.orElse("dev") + " (commit " + commit.orElse("unknown")
                + (modified ? ", with local changes" : "") + ")";
    }
}
