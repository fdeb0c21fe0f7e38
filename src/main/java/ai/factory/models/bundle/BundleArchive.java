package ai.factory.models.bundle;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import ai.factory.security.signing.ModelManifest;
import ai.factory.security.signing.ModelSigning;
import ai.factory.security.signing.SignatureBundle;
import ai.factory.security.signing.SignatureInvalidException;
import ai.factory.security.signing.SigningKey;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * The bundle's archive: a ZIP file (ZIP64 beyond 4 GiB) whose entries are {@code bundle.json} (the
 * {@link BundleContents}), the models' files and signatures under {@code models/}, the runtime under
 * {@code runtime/}, and {@code bundle.sig}: an OpenSSF model-signing bundle, by the exporting site's key, whose
 * statement lists every other entry with its SHA-256. The signature's format is the models' own, so one verifier
 * (keys and certificates the site trusts, offline) serves both.
 */
public final class BundleArchive {
    public static final String CONTENTS = "bundle.json";
    public static final String SIGNATURE = "bundle.sig";
    public static final String MODELS = "models/";
    public static final String RUNTIME = "runtime/";
    /** The name the bundle's statement gives what it signs, so that a model's signature is never taken for one. */
    public static final String SUBJECT = "factory-bundle";

    private BundleArchive() {}

    /**
     * Writes a bundle as a stream: each entry is digested as it goes out, and {@link #finish} writes the contents and
     * the signature over everything, and ends the archive. A writer abandoned before then leaves an archive without
     * its end (no central directory), which no reader takes for a bundle; it does not close the stream.
     */
    public static final class Writer {
        private final ZipOutputStream zip;
        private final Map<String, String> digests = new LinkedHashMap<>();

        public Writer(OutputStream out) {
            this.zip = new ZipOutputStream(requireNonNull(out, "out is null"));
        }

        /**
         * Adds an entry, compressed or not (weights hardly compress; storing them costs nothing), and returns its
         * SHA-256.
         */
        public String add(String entry, InputStream content, boolean compress) throws IOException {
            checkEntry(entry);
            if (entry.equals(SIGNATURE) || entry.equals(CONTENTS)) {
                throw new IllegalArgumentException("entry '" + entry + "' is the bundle's own");
            }
            return put(entry, content, compress);
        }

        private String put(String entry, InputStream content, boolean compress) throws IOException {
            if (digests.containsKey(entry)) {
                throw new IllegalArgumentException("entry '" + entry + "' is in the bundle already");
            }
            MessageDigest sha = sha256();
            zip.setLevel(compress ? Deflater.BEST_SPEED : Deflater.NO_COMPRESSION);
            zip.putNextEntry(new ZipEntry(entry));
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = content.read(buffer)) > 0; ) {
                sha.update(buffer, 0, n);
                zip.write(buffer, 0, n);
            }
            zip.closeEntry();
            String hex = HexFormat.of().formatHex(sha.digest());
            digests.put(entry, hex);
            return hex;
        }

        /** Writes {@code bundle.json} and the signature over every entry, and ends the archive. */
        public void finish(BundleContents contents, SigningKey key) throws IOException {
            put(CONTENTS, new java.io.ByteArrayInputStream(Json.mapper().writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(contents)), true);
            List<ModelManifest.File> files = new ArrayList<>();
            digests.forEach((name, sha) -> files.add(new ModelManifest.File(name, sha)));
            byte[] signature = key.sign(new ModelManifest(SUBJECT, files)).json();
            zip.setLevel(Deflater.BEST_SPEED);
            zip.putNextEntry(new ZipEntry(SIGNATURE));
            zip.write(signature);
            zip.closeEntry();
            zip.finish();
            zip.flush();
        }
    }

    /**
     * A bundle whose signature and every digest verified: what it holds and who signed it; its entries can be read
     * (each is read again from the file, which is the caller's to keep unchanged while it reads).
     */
    public static final class Verified implements Closeable {
        private final ZipFile zip;
        private final BundleContents contents;
        private final String signer;
        private final Map<String, String> digests;

        private Verified(ZipFile zip, BundleContents contents, String signer, Map<String, String> digests) {
            this.zip = zip;
            this.contents = contents;
            this.signer = signer;
            this.digests = Collections.unmodifiableMap(digests);
        }

        public BundleContents contents() {
            return contents;
        }

        public String signer() {
            return signer;
        }

        /** Every entry but the signature, with its SHA-256. */
        public Map<String, String> digests() {
            return digests;
        }

        public long size(String entry) {
            ZipEntry e = zip.getEntry(entry);
            return e == null ? -1 : e.getSize();
        }

        public InputStream open(String entry) throws IOException {
            ZipEntry e = zip.getEntry(entry);
            if (e == null || !digests.containsKey(entry)) {
                throw new IllegalArgumentException("the bundle has no entry '" + entry + "'");
            }
            return zip.getInputStream(e);
        }

        @Override
        public void close() throws IOException {
            zip.close();
        }
    }

    /**
     * Verifies a bundle before anything in it is used: its signature by a signer {@code trust} holds (a certificate
     * valid at {@code at}), every entry's SHA-256 the one signed, no entry missing, extra or twice, and its contents
     * consistent with the entries.
     *
     * @throws SignatureInvalidException saying what is wrong: not a bundle, truncated, unsigned, an untrusted signer,
     *     an entry whose digest differs (naming it and both digests)
     */
    public static Verified verify(Path file, ModelSigning.Trust trust, Instant at) throws IOException {
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new SignatureInvalidException("not a bundle, or a truncated one: " + e.getMessage());
        } catch (IOException e) {
            throw new SignatureInvalidException("cannot read the bundle " + file + ": " + e);
        }
        try {
            Verified verified = verify(zip, trust, at);
            zip = null;
            return verified;
        } catch (java.io.UncheckedIOException e) {
            throw new SignatureInvalidException("the bundle cannot be read: " + e.getMessage());
        } catch (IOException e) {
            throw new SignatureInvalidException("the bundle cannot be read: " + e);
        } finally {
            if (zip != null) {
                zip.close();
            }
        }
    }

    private static Verified verify(ZipFile zip, ModelSigning.Trust trust, Instant at) throws IOException {
        List<ZipEntry> entries = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        for (ZipEntry e : Collections.list(zip.entries())) {
            if (e.isDirectory()) {
                continue;
            }
            try {
                checkEntry(e.getName());
            } catch (IllegalArgumentException bad) {
                throw new SignatureInvalidException("the bundle has an entry no bundle has: " + bad.getMessage());
            }
            if (!names.add(e.getName())) {
                throw new SignatureInvalidException("the bundle holds entry '" + e.getName() + "' twice");
            }
            entries.add(e);
        }
        ZipEntry sigEntry = zip.getEntry(SIGNATURE);
        if (sigEntry == null) {
            throw new SignatureInvalidException("the bundle has no signature (" + SIGNATURE + "): it is truncated, or "
                    + "not a bundle");
        }
        byte[] sig;
        try (InputStream in = zip.getInputStream(sigEntry)) {
            sig = in.readNBytes(SignatureBundle.MAX_BYTES + 1);
        }
        if (sig.length > SignatureBundle.MAX_BYTES) {
            throw new SignatureInvalidException("the bundle's signature is larger than any signature");
        }
        ModelSigning.Verified verified = trust.verify(SignatureBundle.parse(sig), at);
        if (!SUBJECT.equals(verified.manifest().modelName()) || verified.manifest().files().stream()
                .anyMatch(f -> f.name().equals(ModelManifest.SINGLE_FILE))) {
            throw new SignatureInvalidException("the bundle's signature is a model's ('" + verified.manifest()
                    .modelName() + "'), not a bundle's");
        }
        Map<String, String> digests = new LinkedHashMap<>();
        byte[] buffer = new byte[1 << 16];
        for (ZipEntry e : entries) {
            if (e.getName().equals(SIGNATURE)) {
                continue;
            }
            if (verified.manifest().file(e.getName()).isEmpty()) {
                // Refused before it is read: an entry slipped in beside a genuine signature costs nothing.
                throw new SignatureInvalidException("entry '" + e.getName() + "' is not in the signature by "
                        + verified.signer());
            }
            MessageDigest sha = sha256();
            try (InputStream in = zip.getInputStream(e)) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    sha.update(buffer, 0, n);
                }
            } catch (IOException bad) {
                throw new SignatureInvalidException("entry '" + e.getName() + "' cannot be read: " + bad.getMessage());
            }
            String actual = HexFormat.of().formatHex(sha.digest());
            String wrong = ModelSigning.mismatch(verified.manifest(), e.getName(), actual, verified.signer());
            if (wrong != null) {
                throw new SignatureInvalidException(wrong.replace("file '", "entry '"));
            }
            digests.put(e.getName(), actual);
        }
        String missing = ModelSigning.mismatch(verified.manifest(), digests, verified.signer());
        if (missing != null) {
            throw new SignatureInvalidException(missing.replace("which the model lacks", "which the bundle lacks"));
        }
        BundleContents contents;
        try (InputStream in = zip.getInputStream(requireNonNull(zip.getEntry(CONTENTS), CONTENTS))) {
            contents = Json.mapper().readValue(in, BundleContents.class);
        } catch (IOException | RuntimeException e) {
            throw new SignatureInvalidException("the bundle's " + CONTENTS + " cannot be read: " + e.getMessage());
        }
        if (!BundleContents.FORMAT.equals(contents.format())) {
            throw new SignatureInvalidException("the bundle is '" + contents.format() + "', which this factory does not "
                    + "read (it reads " + BundleContents.FORMAT + ")");
        }
        for (BundleContents.Model m : contents.models()) {
            for (BundleContents.File f : m.files()) {
                if (!f.sha256().equals(digests.get(f.entry()))) {
                    throw new SignatureInvalidException("the bundle lists file '" + f.path() + "' of " + m.name()
                            + " as entry '" + f.entry() + "' with SHA-256 " + f.sha256() + ", which it does not hold");
                }
            }
            if (m.signature() != null && !digests.containsKey(m.signature())) {
                throw new SignatureInvalidException("the bundle names the signature of " + m.name() + " as entry '"
                        + m.signature() + "', which it does not hold");
            }
        }
        return new Verified(zip, contents, verified.signer(), digests);
    }

    /** An entry's name: relative, '/'-separated, with no empty, '.' or '..' segment. */
    static void checkEntry(String entry) {
        if (entry.isEmpty() || entry.startsWith("/") || entry.contains("\\") || entry.contains("\0")
                || java.util.Arrays.stream(entry.split("/", -1)).anyMatch(s -> s.isEmpty() || s.equals(".")
                || s.equals(".."))) {
            throw new IllegalArgumentException("'" + entry + "' is not a relative path within the bundle");
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads an entry fully, for small ones (signatures). */
    static byte[] readSmall(Verified bundle, String entry) {
        try (InputStream in = bundle.open(entry)) {
            byte[] bytes = in.readNBytes(SignatureBundle.MAX_BYTES + 1);
            if (bytes.length > SignatureBundle.MAX_BYTES) {
                throw new SignatureInvalidException("entry '" + entry + "' is larger than any signature");
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
