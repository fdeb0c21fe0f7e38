package ai.factory.models.bundle;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.identity.Principal;
import ai.factory.models.Model;
import ai.factory.models.ModelFile;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.security.signing.SignatureInvalidException;
import ai.factory.security.signing.SigningKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exports models (and the factory itself) as a signed bundle, and imports a bundle's models after verifying it whole:
 * its signature by a signer the site trusts and every file's digest, before anything is registered; the models then
 * go through the registry as any import does (encrypted under the project's keys, each model's own signature checked
 * against the site's policy), and a model refused there takes back the ones registered before it.
 */
public final class ModelBundles {
    private static final Logger LOG = LoggerFactory.getLogger(ModelBundles.class);

    /** Reads a runtime file's content, each time it is asked. */
    @FunctionalInterface
    public interface Content {
        InputStream open() throws IOException;
    }

    /** One file of the runtime: its path under {@code runtime/}, its content, and whether to compress it. */
    public record RuntimeFile(String name, Content content, boolean compress) {
        public RuntimeFile {
            BundleArchive.checkEntry(name);
            requireNonNull(content, "content is null");
        }
    }

    /**
     * The factory as it runs here: its files, the launcher among them, and the llama.cpp natives' provenance (null
     * when it runs without them).
     */
    public record Runtime(List<RuntimeFile> files, String launcher, String factory, @Nullable String llamaNatives) {
        public Runtime {
            files = List.copyOf(files);
        }
    }

    private final ModelRegistry registry;
    private final Clock clock;

    public ModelBundles(ModelRegistry registry, Clock clock) {
        this.registry = requireNonNull(registry, "registry is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** An export, checked and ready to be written. */
    public final class Export {
        private final List<ModelVersion> versions;
        private final @Nullable Runtime runtime;
        private final SigningKey key;
        private final String factory;
        private final Principal by;

        private Export(List<ModelVersion> versions, @Nullable Runtime runtime, SigningKey key, String factory,
                       Principal by) {
            this.versions = versions;
            this.runtime = runtime;
            this.key = key;
            this.factory = factory;
            this.by = by;
        }

        public List<ModelVersion> versions() {
            return versions;
        }

        /**
         * Writes the bundle: models, runtime, contents and signature. On a failure the archive is left without its
         * end, and the stream open: the caller must not end it as if it were whole.
         */
        public void writeTo(OutputStream out) throws IOException {
            List<BundleContents.Model> models = new ArrayList<>();
            BundleContents.Runtime carried = null;
            BundleArchive.Writer w = new BundleArchive.Writer(out);
            {
                for (ModelVersion v : versions) {
                    String base = BundleArchive.MODELS + v.model().namespace() + "/" + v.model().model() + "/"
                            + v.version() + "/";
                    List<BundleContents.File> files = new ArrayList<>();
                    for (ModelFile f : v.files()) {
                        String entry = base + "files/" + f.path();
                        try (InputStream in = Channels.newInputStream(registry.open(v, f.path()))) {
                            String sha = w.add(entry, in, false);
                            if (!sha.equals(f.sha256())) {
                                throw new IllegalStateException("model " + v.ref() + ": file " + f.path() + " reads "
                                        + "as SHA-256 " + sha + ", and the registry recorded " + f.sha256());
                            }
                        }
                        files.add(new BundleContents.File(f.path(), entry, f.sha256(), f.size()));
                    }
                    String signature = null;
                    var stored = registry.signatures().find(v.model(), v.version());
                    if (stored.isPresent()) {
                        signature = base + "model.sig";
                        w.add(signature, new java.io.ByteArrayInputStream(stored.get().bundle()), true);
                    }
                    Model model = registry.get(v.model());
                    models.add(new BundleContents.Model(v.model().toString(), v.version(), v.format().id(),
                            model.classification(), v.metadata(), files, signature));
                }
                if (runtime != null) {
                    long bytes = 0;
                    for (RuntimeFile f : runtime.files()) {
                        try (InputStream in = f.content().open()) {
                            CountingStream counted = new CountingStream(in);
                            w.add(BundleArchive.RUNTIME + f.name(), counted, f.compress());
                            bytes += counted.count;
                        }
                    }
                    carried = new BundleContents.Runtime(BundleArchive.RUNTIME + runtime.launcher(),
                            runtime.files().size(), bytes, runtime.llamaNatives());
                }
                w.finish(new BundleContents(BundleContents.FORMAT, clock.instant(), by.name(), factory, models,
                        carried), key);
            }
            LOG.info("exported a bundle of {} model(s){} for {}", versions.size(), runtime == null ? ""
                    : " and the factory", by.name());
        }
    }

    /**
     * Checks an export before any byte is written: the site has a signing key, and every model named exists.
     *
     * @param runtime the factory to carry, or null
     * @throws FactoryException CONFLICT without a site signing key; NOT_FOUND for a model that does not exist;
     *     INVALID_REQUEST for an empty export or a builtin model
     */
    public Export prepare(List<ModelRef> models, @Nullable Runtime runtime, String factory, Principal by) {
        SigningKey key = registry.signatures().siteKey().orElseThrow(() -> new FactoryException(ErrorCode.CONFLICT,
                "the site has no signing key (models.signingKey), and a bundle is signed with it; set one"));
        if (models.isEmpty() && runtime == null) {
            throw FactoryException.invalidParam("models", "name the models to export, or the runtime, or both");
        }
        List<ModelVersion> versions = new ArrayList<>();
        for (ModelRef ref : models) {
            if (ModelRegistry.isBuiltin(ref.name())) {
                throw FactoryException.invalidParam("models", "the models bundled with the factory travel with its "
                        + "runtime, not as models: " + ref);
            }
            ModelVersion v = registry.resolve(ref);
            if (versions.stream().anyMatch(x -> x.ref().equals(v.ref()))) {
                throw FactoryException.invalidParam("models", "model " + v.ref() + " is named twice");
            }
            versions.add(v);
        }
        return new Export(versions, runtime, key, factory, by);
    }

    /** What an import registered, and who signed the bundle. */
    public record Imported(String signer, List<ModelVersion> versions, boolean carriesRuntime) {}

    /**
     * Imports a bundle's models: verified whole first, then registered one by one; when one is refused, the versions
     * registered before it are deleted again, so the bundle is imported whole or not at all.
     *
     * @param project where new models go (null: the importer's project); new versions of existing models stay in
     *     their model's
     * @throws FactoryException INVALID_REQUEST on {@code bundle} when it does not verify (saying why) or holds no
     *     models; the registry's refusals (a model's own signature under {@code require}, say) as they are
     */
    public Imported importBundle(Path file, @Nullable String project, Principal by) throws IOException {
        var trust = registry.signatures().trust();
        if (trust.isEmpty()) {
            throw FactoryException.invalidParam("bundle", "the site trusts no signer (models.trustedSigners), so no "
                    + "bundle can be verified; name the exporting site's public key or authority there");
        }
        BundleArchive.Verified bundle;
        try {
            bundle = BundleArchive.verify(file, trust, clock.instant());
        } catch (SignatureInvalidException e) {
            throw FactoryException.invalidParam("bundle", "the bundle is refused, and nothing was imported: "
                    + e.getMessage());
        }
        try (bundle) {
            BundleContents contents = bundle.contents();
            if (contents.models().isEmpty()) {
                throw FactoryException.invalidParam("bundle", "the bundle holds no models (it carries the factory "
                        + "itself: install that with 'factory bundle install')");
            }
            List<ModelName> names = new ArrayList<>();
            for (BundleContents.Model m : contents.models()) {
                ModelName name = ModelName.parse(m.name());
                if (ModelRegistry.isBuiltin(name)) {
                    throw FactoryException.invalidParam("bundle", "the bundle holds " + name + ", in the namespace "
                            + "reserved for the models bundled with the factory; nothing was imported");
                }
                if (names.contains(name)) {
                    throw FactoryException.invalidParam("bundle", "the bundle holds " + name + " twice; nothing was "
                            + "imported");
                }
                names.add(name);
                registry.find(name).ifPresent(existing -> checkJoins(existing, m, project));
            }
            List<ModelVersion> done = new ArrayList<>();
            try {
                for (BundleContents.Model m : contents.models()) {
                    done.add(importModel(bundle, m, project, by));
                }
            } catch (RuntimeException | IOException e) {
                for (ModelVersion v : done.reversed()) {
                    try {
                        registry.delete(v.ref());
                    } catch (RuntimeException undo) {
                        e.addSuppressed(undo);
                    }
                }
                throw e;
            }
            LOG.info("imported a bundle signed by {}: {}", bundle.signer(), done.stream().map(v -> v.ref().toString())
                    .toList());
            return new Imported(bundle.signer(), done, contents.runtime() != null);
        }
    }

    /**
     * A bundle's model may become a new version of a model of the same name here only in that model's project, under
     * the same classification, and when no version here holds the same files already (the same bundle imported again).
     */
    private static void checkJoins(Model existing, BundleContents.Model m, @Nullable String project) {
        String nothing = "; nothing was imported";
        if (project != null && !project.equals(existing.project())) {
            throw FactoryException.about(ErrorCode.CONFLICT, "bundle", "model " + existing.name() + " exists here in "
                    + "project " + existing.project() + ", not " + project + nothing);
        }
        if (!existing.classification().equals(m.classification())) {
            throw FactoryException.about(ErrorCode.CONFLICT, "bundle", "model " + existing.name() + " is classified '"
                    + existing.classification() + "' here and '" + m.classification() + "' in the bundle; classify "
                    + "it to match first" + nothing);
        }
        java.util.Set<String> files = new java.util.HashSet<>();
        m.files().forEach(f -> files.add(f.path() + "@" + f.sha256()));
        for (ModelVersion v : existing.versions()) {
            java.util.Set<String> held = new java.util.HashSet<>();
            v.files().forEach(f -> held.add(f.path() + "@" + f.sha256()));
            if (held.equals(files)) {
                throw FactoryException.about(ErrorCode.CONFLICT, "bundle", "model " + existing.name() + " holds the "
                        + "bundle's " + m.name() + ":" + m.version() + " already, as version " + v.version()
                        + nothing);
            }
        }
    }

    private ModelVersion importModel(BundleArchive.Verified bundle, BundleContents.Model m, @Nullable String project,
                                     Principal by) throws IOException {
        ModelName name = ModelName.parse(m.name());
        byte[] signature = m.signature() == null ? null : BundleArchive.readSmall(bundle, m.signature());
        Optional<Model> existing = registry.find(name);
        ModelRegistry.Placement placement = new ModelRegistry.Placement(existing.isPresent() ? null : project,
                existing.isPresent() ? null : m.classification(), signature);
        List<InputStream> opened = new ArrayList<>();
        try {
            List<ModelRegistry.Upload> uploads = new ArrayList<>();
            for (BundleContents.File f : m.files()) {
                InputStream in = bundle.open(f.entry());
                opened.add(in);
                uploads.add(new ModelRegistry.Upload(ModelRegistry.checkFileName(f.path()), in, f.sha256(),
                        bundle.size(f.entry())));
            }
            Map<String, Object> provenance = new LinkedHashMap<>();
            provenance.put("bundle", Map.of("signer", bundle.signer(), "model", m.name() + ":" + m.version(),
                    "exportedAt", bundle.contents().createdAt().toString(), "factory", bundle.contents().factory()));
            return registry.importFiles(name, Optional.of(ModelFormat.parse(m.format())), uploads, provenance, by,
                    "bundle:" + m.name() + ":" + m.version(), placement);
        } finally {
            for (InputStream in : opened) {
                in.close();
            }
        }
    }

    /** Counts what passes through. */
    private static final class CountingStream extends java.io.FilterInputStream {
        long count;

        CountingStream(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }
    }
}
