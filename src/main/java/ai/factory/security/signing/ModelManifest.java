package ai.factory.security.signing;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * What a model signature says: the model's name and every file of it with its SHA-256, as the in-toto statement of
 * the OpenSSF model-signing format (predicate {@code https://model_signing/signature/v1.0}) writes them. The
 * statement's one subject is the model with a SHA-256 over all the files' digests, in the order the resources are
 * listed (by name). Written by hand on Jackson: the statement is a small JSON document, and the format's own
 * libraries are Python and Go.
 *
 * @param files the files, sorted by name; a model of one file signed as the model-signing tools sign a file lists it
 *     as {@code "."} (the file itself)
 */
public record ModelManifest(String modelName, List<File> files) {
    static final String STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
    static final String PREDICATE_TYPE = "https://model_signing/signature/v1.0";

    /** One file of a model: its path in the model (a file name, for a model of one file) and its SHA-256, in hex. */
    public record File(String name, String sha256) {
        public File {
            requireNonNull(name, "name is null");
            requireNonNull(sha256, "sha256 is null");
            if (!sha256.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("not a SHA-256 in lower-case hex: " + sha256);
            }
        }
    }

    public ModelManifest {
        requireNonNull(modelName, "modelName is null");
        files = files.stream().sorted(Comparator.comparing(File::name)).toList();
        if (files.isEmpty()) {
            throw new IllegalArgumentException("a model has at least one file");
        }
    }

    /** The name the model-signing tools give the one file of a model that is a file. */
    public static final String SINGLE_FILE = ".";

    /**
     * The file of this name, if the manifest lists it: by its name, or, in the signature of a single file (listed as
     * {@code "."}), that file whatever it is called.
     */
    public Optional<File> file(String name) {
        if (files.size() == 1 && files.getFirst().name().equals(SINGLE_FILE)) {
            return Optional.of(files.getFirst());
        }
        return files.stream().filter(f -> f.name().equals(name)).findFirst();
    }

    /** A manifest of one file, named as the model-signing tools name it ({@code "."}). */
    public static ModelManifest ofFile(String modelName, String sha256) {
        return new ModelManifest(modelName, List.of(new File(SINGLE_FILE, sha256)));
    }

    /** The subject's digest: SHA-256 over the files' digests, in order. */
    public String rootDigest() {
        return digestInOrder(files);
    }

    /** The in-toto statement, as the bytes the signature covers. */
    public byte[] statement() {
        ObjectNode statement = Json.mapper().createObjectNode();
        statement.put("_type", STATEMENT_TYPE);
        ObjectNode subject = statement.putArray("subject").addObject();
        subject.put("name", modelName);
        subject.putObject("digest").put("sha256", rootDigest());
        statement.put("predicateType", PREDICATE_TYPE);
        ObjectNode predicate = statement.putObject("predicate");
        ObjectNode serialization = predicate.putObject("serialization");
        serialization.put("method", "files");
        serialization.put("hash_type", "sha256");
        serialization.put("allow_symlinks", false);
        serialization.putArray("ignore_paths");
        ArrayNode resources = predicate.putArray("resources");
        for (File f : files) {
            resources.addObject().put("algorithm", "sha256").put("digest", f.sha256()).put("name", f.name());
        }
        try {
            return Json.mapper().writeValueAsBytes(statement);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a statement is plain JSON", e);
        }
    }

    /**
     * The manifest a signed statement states.
     *
     * @throws SignatureInvalidException when it is not a model-signing statement, or its subject's digest is not
     *     what its files' digests make (a statement edited after it was made)
     */
    public static ModelManifest parse(byte[] statement) {
        JsonNode s;
        try {
            s = Json.mapper().readTree(statement);
        } catch (java.io.IOException e) {
            throw new SignatureInvalidException("the signed statement is not JSON");
        }
        if (s == null || !STATEMENT_TYPE.equals(s.path("_type").asText())) {
            throw new SignatureInvalidException("the signed statement is not an in-toto statement v1");
        }
        if (!PREDICATE_TYPE.equals(s.path("predicateType").asText())) {
            throw new SignatureInvalidException("the signed statement's predicate is '" + s.path("predicateType")
                    .asText() + "', not a model signature (" + PREDICATE_TYPE + ")");
        }
        JsonNode subjects = s.path("subject");
        if (!subjects.isArray() || subjects.size() != 1) {
            throw new SignatureInvalidException("a model signature names one subject, the model");
        }
        String method = s.path("predicate").path("serialization").path("method").asText();
        if (!method.equals("files")) {
            throw new SignatureInvalidException("the signature hashes the model by '" + method + "'; the factory "
                    + "verifies signatures made file by file (method 'files')");
        }
        List<File> files = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        for (JsonNode r : s.path("predicate").path("resources")) {
            if (!names.add(r.path("name").asText())) {
                throw new SignatureInvalidException("the signed statement lists file '" + r.path("name").asText()
                        + "' twice");
            }
            if (!"sha256".equals(r.path("algorithm").asText())) {
                throw new SignatureInvalidException("file '" + r.path("name").asText() + "' is hashed with '"
                        + r.path("algorithm").asText() + "'; the factory verifies SHA-256 digests");
            }
            try {
                files.add(new File(r.path("name").asText(), r.path("digest").asText()));
            } catch (IllegalArgumentException e) {
                throw new SignatureInvalidException("file '" + r.path("name").asText() + "': " + e.getMessage());
            }
        }
        if (files.isEmpty()) {
            throw new SignatureInvalidException("the signed statement lists no file");
        }
        // Digests in the order the statement lists them: that is what its subject's digest covers.
        ModelManifest manifest = new ModelManifest(subjects.get(0).path("name").asText(), files);
        String stated = subjects.get(0).path("digest").path("sha256").asText();
        String listed = digestInOrder(files);
        if (!stated.equals(listed)) {
            throw new SignatureInvalidException("the signed statement is inconsistent: its subject's digest is "
                    + stated + " and its files' digests make " + listed);
        }
        return manifest;
    }

    private static String digestInOrder(List<File> files) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (File f : files) {
                sha.update(HexFormat.of().parseHex(f.sha256()));
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
