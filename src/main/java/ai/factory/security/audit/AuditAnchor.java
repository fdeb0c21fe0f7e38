package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A signed digest in a form to keep outside the factory (a ticket, a notebook, another organisation's mail): one
 * line, {@code fa1:<lastSeq>:<digest hash>:<key id>:<signature>}. A chain that still holds this digest, linked to
 * every digest after it, extends the anchor; one that was cut or rewritten since does not, even by someone who
 * could write the whole database.
 *
 * @param seq the last record the digest covers
 * @param digestHash the digest's {@linkplain AuditDigest#hash hash}, which commits to every digest before it
 * @param keyId the id of the key that signed it
 * @param signature the digest's signature, base64
 */
public record AuditAnchor(long seq, String digestHash, String keyId, String signature) {
    public static final String PREFIX = "fa1";
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern KEY_ID = Pattern.compile("[0-9a-f]{16}");

    public AuditAnchor {
        requireNonNull(digestHash, "digestHash is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(signature, "signature is null");
        if (seq < 1) {
            throw new IllegalArgumentException("an anchor's record number is 1 or more, not " + seq);
        }
        if (!HASH.matcher(digestHash).matches()) {
            throw new IllegalArgumentException("an anchor's digest hash is 64 lower-case hex digits");
        }
        if (!KEY_ID.matcher(keyId).matches()) {
            throw new IllegalArgumentException("an anchor's key id is 16 lower-case hex digits");
        }
        try {
            if (Base64.getDecoder().decode(signature).length != 64) {
                throw new IllegalArgumentException("an anchor's signature is 64 bytes of Ed25519, base64");
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("an anchor's signature is 64 bytes of Ed25519, base64", e);
        }
    }

    public static AuditAnchor of(AuditDigest digest) {
        return new AuditAnchor(digest.lastSeq(), digest.hash(), digest.keyId(), digest.signature());
    }

    /** Reads the one-line form. */
    public static AuditAnchor parse(String text) {
        String[] parts = requireNonNull(text, "text is null").strip().split(":", -1);
        if (parts.length != 5 || !parts[0].equals(PREFIX)) {
            throw new IllegalArgumentException("not an audit anchor (expected " + PREFIX
                    + ":<seq>:<digest hash>:<key id>:<signature>, as 'factory audit anchor' prints)");
        }
        long seq;
        try {
            seq = Long.parseLong(parts[1]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("an anchor's record number is a whole number, not '" + parts[1] + "'");
        }
        return new AuditAnchor(seq, parts[2], parts[3], parts[4]);
    }

    /** The anchors in a file: one a line; blank lines and lines starting with {@code #} are skipped. */
    public static List<AuditAnchor> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the anchor file " + file, e);
        }
        List<AuditAnchor> anchors = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                anchors.add(parse(line));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        if (anchors.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no anchor");
        }
        return anchors;
    }

    /** The one-line form. */
    public String text() {
        return PREFIX + ":" + seq + ":" + digestHash + ":" + keyId + ":" + signature;
    }

    @Override
    public String toString() {
        return text();
    }
}
