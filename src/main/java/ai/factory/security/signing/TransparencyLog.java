package ai.factory.security.signing;

import ai.factory.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * A keyless signature's date, offline: a Sigstore signing certificate lives minutes, so what proves it was valid when
 * it signed is a transparency log's (Rekor's) entry for the signature, promised by the log's signature over it (the
 * signed entry timestamp). Verified against the log keys the site trusts; no log is asked anything. Written here:
 * sigstore-java resolves, but brings gRPC, Google's HTTP and OAuth clients (the latter with a Jetty of its own beside
 * the factory's) for its online signing, while what a site's offline trust needs is this much: the promise's
 * signature over the entry in canonical JSON, and that the entry records this envelope.
 */
public final class TransparencyLog {
    private TransparencyLog() {}

    /** When a trusted log took the signature, and which log. */
    public record Logged(Instant at, String log, long index) {}

    /**
     * The time a trusted log recorded this bundle's signature; empty when no entry is from a trusted log with a
     * promise to verify (the signature is then judged without one).
     *
     * @throws SignatureInvalidException when an entry of a trusted log does not verify, or records another envelope
     */
    public static java.util.Optional<Logged> logged(SignatureBundle bundle, List<PublicKey> logKeys) {
        for (SignatureBundle.TlogEntry e : bundle.tlogEntries()) {
            PublicKey key = logKeys.stream().filter(k -> Arrays.equals(sha256(k.getEncoded()), e.logKeyId()))
                    .findFirst().orElse(null);
            if (key == null || e.signedEntryTimestamp() == null || e.integratedTime() < 0) {
                continue; // another log's, or one (Rekor v2) that dates nothing by itself
            }
            String logId = HexFormat.of().formatHex(e.logKeyId());
            // Canonical JSON (RFC 8785) of four fields: keys in order, no spaces, the body as base64.
            String promised = "{\"body\":\"" + Base64.getEncoder().encodeToString(e.canonicalizedBody())
                    + "\",\"integratedTime\":" + e.integratedTime() + ",\"logID\":\"" + logId + "\",\"logIndex\":"
                    + e.logIndex() + "}";
            if (!verifies(key, promised.getBytes(StandardCharsets.UTF_8), e.signedEntryTimestamp())) {
                throw new SignatureInvalidException("the transparency log's signed entry timestamp does not verify "
                        + "(log " + logId + ", entry " + e.logIndex() + ")");
            }
            String wrong = recordsThis(e.canonicalizedBody(), bundle);
            if (wrong != null) {
                throw new SignatureInvalidException("the transparency-log entry " + e.logIndex() + " " + wrong);
            }
            return java.util.Optional.of(new Logged(Instant.ofEpochSecond(e.integratedTime()), logId, e.logIndex()));
        }
        return java.util.Optional.empty();
    }

    /** Null when the log's entry (kind dsse) records this envelope: its payload's digest and its signature. */
    private static @org.jspecify.annotations.Nullable String recordsThis(byte[] body, SignatureBundle bundle) {
        JsonNode entry;
        try {
            entry = Json.mapper().readTree(body);
        } catch (java.io.IOException e) {
            return "has a body that is not JSON";
        }
        if (entry == null || !"dsse".equals(entry.path("kind").asText())) {
            return "is not of kind dsse (it is '" + (entry == null ? "" : entry.path("kind").asText()) + "')";
        }
        JsonNode spec = entry.path("spec");
        String payloadHash = HexFormat.of().formatHex(sha256(bundle.statement()));
        if (!"sha256".equals(spec.path("payloadHash").path("algorithm").asText())
                || !payloadHash.equals(spec.path("payloadHash").path("value").asText())) {
            return "records another payload (SHA-256 " + spec.path("payloadHash").path("value").asText() + ", this "
                    + "statement's is " + payloadHash + ")";
        }
        String signature = Base64.getEncoder().encodeToString(bundle.signature());
        for (JsonNode s : spec.path("signatures")) {
            if (signature.equals(s.path("signature").asText())) {
                return bundle.certificates().isEmpty() || verifiedBy(s.path("verifier").asText(),
                        bundle.certificates().getFirst()) ? null : "records the signature under another certificate";
            }
        }
        return "records another signature of the statement";
    }

    /** Whether an entry's verifier (a certificate's PEM, in base64) is this certificate. */
    private static boolean verifiedBy(String verifier, java.security.cert.X509Certificate leaf) {
        try {
            var named = java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(
                    new java.io.ByteArrayInputStream(Base64.getDecoder().decode(verifier)));
            return named.equals(leaf);
        } catch (java.security.cert.CertificateException | IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean verifies(PublicKey key, byte[] signed, byte[] signature) {
        try {
            Signature v = Signature.getInstance(ModelSigning.algorithm(key));
            v.initVerify(key);
            v.update(signed);
            return v.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
