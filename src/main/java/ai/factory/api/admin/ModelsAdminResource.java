package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.ModelWire;
import ai.factory.api.codec.admin.ModelWire.Classify;
import ai.factory.api.codec.admin.ModelWire.Deleted;
import ai.factory.api.codec.admin.ModelWire.ImportPath;
import ai.factory.api.codec.admin.ModelWire.ModelList;
import ai.factory.api.codec.admin.ModelWire.Version;
import ai.factory.api.codec.admin.PlanWire;
import ai.factory.fleet.capacity.AcceleratorSpec;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.fleet.capacity.CapacityPlan;
import ai.factory.models.Model;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelRegistry.Upload;
import ai.factory.models.ModelVersion;
import ai.factory.models.gguf.GgufMetadata;
import ai.factory.security.Action;
import ai.factory.identity.Principal;
import ai.factory.tenancy.Projects;
import ai.factory.security.Resource;
import ai.factory.serving.DeploymentSpec;
import ai.factory.fleet.HostMemory;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import java.util.OptionalInt;

/**
 * The model registry over HTTP: {@code /api/v1/models}. New versions come from a streamed upload
 * ({@code PUT …/versions}, the file as the body) or from a path on the server ({@code POST …/versions}).
 */
public final class ModelsAdminResource implements Routes {
    private static final String MODEL = "/api/v1/models/{namespace}/{model}";
    private static final long DISCARD_LIMIT = 256L << 20;

    private final ModelRegistry registry;
    private final Projects projects;
    private final Access access;

    public ModelsAdminResource(ModelRegistry registry, Projects projects, Access access) {
        this.registry = requireNonNull(registry, "registry is null");
        this.projects = requireNonNull(projects, "projects is null");
        this.access = requireNonNull(access, "access is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/models", Action.READ_MODEL, Contract.of("List the models the caller may read", null,
                ModelList.class), ctx -> ctx.json(new ModelList(registry.list().stream()
                .filter(m -> access.allows(ctx, Action.READ_MODEL, Access.resource(m)))
                .map(this::model).toList())));
        routes.get(MODEL, Action.READ_MODEL, Contract.of("Show a model with its versions", null,
                ModelWire.Model.class), ctx -> ctx.json(model(access.model(ctx, Action.READ_MODEL, name(ctx)))));
        routes.patch(MODEL, Action.CLASSIFY_MODEL, Contract.of("Set a model's data classification", Classify.class,
                ModelWire.Model.class), this::classify);
        routes.delete(MODEL, Action.DELETE_MODEL, Contract.of("Delete a model and all its versions", null,
                Deleted.class), ctx -> {
            access.model(ctx, Action.DELETE_MODEL, name(ctx));
            ctx.json(deleted(registry.delete(new ModelRef(name(ctx), OptionalInt.empty()))));
        });
        // The upload's body is the model file itself, streamed, not JSON.
        routes.put(MODEL + "/versions", Action.IMPORT_MODEL, Contract.of("Upload a model file as a new version", null,
                Version.class), this::upload);
        routes.post(MODEL + "/versions", Action.IMPORT_FROM_SERVER, Contract.of(
                "Import a file on the server as a new version", ImportPath.class, Version.class), this::importPath);
        routes.get(MODEL + "/plan", Action.READ_MODEL, Contract.of(
                "What one replica needs and where it fits: host memory, accelerators, partial offload or none", null,
                PlanWire.Plan.class), this::plan);
        routes.get(MODEL + "/versions/{version}", Action.READ_MODEL, Contract.of("Show a model version", null,
                Version.class), ctx -> {
            access.model(ctx, Action.READ_MODEL, name(ctx));
            ctx.json(version(registry.resolve(ref(ctx))));
        });
        routes.post(MODEL + "/versions/{version}/signature", Action.SIGN_MODEL, Contract.of("Sign a model version "
                + "with the site's key, or give it a signature made elsewhere ({\"bundle\": …})", ModelWire.Sign.class,
                Version.class), this::sign);
        routes.get(MODEL + "/versions/{version}/signature", Action.READ_MODEL, Contract.of("A model version's "
                + "signature: the OpenSSF model-signing bundle", null, com.fasterxml.jackson.databind.JsonNode.class),
                ctx -> {
                    access.model(ctx, Action.READ_MODEL, name(ctx));
                    ModelVersion v = registry.resolve(ref(ctx));
                    byte[] bundle = registry.signatures().find(v.model(), v.version())
                            .orElseThrow(() -> new FactoryException(ErrorCode.NOT_FOUND, "model " + v.ref()
                                    + " has no signature"))
                            .bundle();
                    ctx.contentType("application/json").result(bundle);
                });
        routes.delete(MODEL + "/versions/{version}", Action.DELETE_MODEL, Contract.of("Delete a model version",
                null, Deleted.class), ctx -> {
            access.model(ctx, Action.DELETE_MODEL, name(ctx));
            ctx.json(deleted(registry.delete(ref(ctx))));
        });
    }

    /** {@code POST …/versions/V/signature}: the site's key signs the version, or the bundle given is verified. */
    private void sign(Context ctx) {
        ModelWire.Sign body = WireJson.read(ctx.bodyAsBytes(), ModelWire.Sign.class);
        access.model(ctx, Action.SIGN_MODEL, name(ctx));
        ModelVersion v = registry.resolve(ref(ctx));
        Principal by = Authentication.principal(ctx);
        Model model = registry.get(v.model());
        var scope = registry.signatures().scopeFor(model.project(), model.classification());
        if (body.bundle() == null || body.bundle().isNull()) {
            registry.signatures().signWithSiteKey(v, scope, by);
        } else {
            registry.signatures().attach(v, body.bundle().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    scope, by);
        }
        ctx.json(version(v));
    }

    /** {@code PATCH /api/v1/models/NS/MODEL} {@code {"classification": "restricted"}}. */
    private void classify(Context ctx) {
        Classify body = WireJson.read(ctx.bodyAsBytes(), Classify.class);
        access.model(ctx, Action.CLASSIFY_MODEL, name(ctx));
        ctx.json(model(registry.classify(name(ctx), body.classification())));
    }

    /**
     * Where an import goes, checked before any byte is read: a new version of an existing model stays in that model's
     * project (and needs the right to import there); a new model goes to {@code project} (default: the caller's),
     * which must exist. Changing an existing model's classification needs the right to classify it.
     */
    private ModelRegistry.Placement placement(Context ctx, ModelName name, Optional<String> project,
                                              Optional<String> classification) {
        if (ModelRegistry.isBuiltin(name)) {
            // Bundled models serve every project and are the site's, under the site's keys: nobody adds to them.
            throw FactoryException.invalidParam("model", "the namespace '" + name.namespace()
                    + "' is reserved for the models bundled with the factory; import under another namespace");
        }
        Optional<Model> existing = registry.find(name);
        if (existing.isPresent()) {
            access.require(ctx, Action.IMPORT_MODEL, Access.resource(existing.get()), () -> nameTaken(name));
            if (classification.isPresent() && !classification.get().equals(existing.get().classification())) {
                access.require(ctx, Action.CLASSIFY_MODEL, Access.resource(existing.get()), () -> nameTaken(name));
            }
        } else {
            String target = project.orElse(access.caller(ctx).project());
            projects.get(target);
            access.require(ctx, Action.IMPORT_MODEL, new Resource.Project(target), () -> Projects.notFound(target));
            if (classification.isPresent() && registry.signatures().hasOwnRules(classification.get())) {
                // Its signature policy and signers replace the project's: choosing it needs the right to classify.
                access.require(ctx, Action.CLASSIFY_MODEL, new Resource.Project(target),
                        () -> Projects.notFound(target));
            }
        }
        return new ModelRegistry.Placement(project.orElse(null), classification.orElse(null));
    }

    /**
     * Everything that can be refused is checked before the body is touched: the client (sending
     * {@code Expect: 100-continue}) then gets the refusal without sending the file, and the container, not this
     * handler, decides what happens to the unread body and the connection.
     */
    private void upload(Context ctx) throws IOException {
        Principal by = Authentication.principal(ctx);
        ModelName name = name(ctx);
        String fileName = ModelRegistry.checkFileName(Optional.ofNullable(ctx.queryParam("filename")).orElse("model.gguf"));
        Optional<ModelFormat> format = Optional.ofNullable(ctx.queryParam("format")).map(ModelFormat::parse);
        String sha256 = ctx.queryParam("sha256");
        ModelRegistry.Placement placement = placement(ctx, name, Optional.ofNullable(ctx.queryParam("project")),
                Optional.ofNullable(ctx.queryParam("classification")));
        placement = placement.signed(signatureHeader(ctx));
        InputStream body = ctx.req().getInputStream();
        ModelVersion v;
        try {
            v = registry.importUpload(name, new Upload(fileName, body, sha256, ctx.req().getContentLengthLong()), format,
                    by, placement);
        } catch (FactoryException e) {
            if (e.code() == ErrorCode.INSUFFICIENT_STORAGE) {
                RefusedBodies.discardRest(body, DISCARD_LIMIT);
            }
            throw e;
        }
        ctx.status(201).json(version(v));
    }

    /** The header that carries an upload's signature: the model-signing bundle's JSON, in base64. */
    public static final String SIGNATURE_HEADER = "X-Model-Signature";

    private static byte @Nullable [] signatureHeader(Context ctx) {
        String value = ctx.header(SIGNATURE_HEADER);
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return java.util.Base64.getMimeDecoder().decode(value.strip());
        } catch (IllegalArgumentException e) {
            throw FactoryException.invalidParam("signature", SIGNATURE_HEADER + " is the signature bundle's JSON in "
                    + "base64: " + e.getMessage());
        }
    }

    /**
     * {@code GET …/plan?ctx=&parallel=&prefixCache=&cacheType=&accelerator=nvidia:80GiB×8&version=}: what one replica
     * needs and where it fits, against this node's free memory and the accelerators named (none: host memory only).
     * The KV cache holds {@code ctx} cells for each of the {@code parallel} slots and {@code prefixCache} sequences.
     */
    private void plan(Context ctx) throws IOException {
        access.model(ctx, Action.READ_MODEL, name(ctx));
        ModelVersion v = registry.resolve(new ModelRef(name(ctx), Optional.ofNullable(ctx.queryParam("version"))
                .map(x -> OptionalInt.of(ModelRef.parseVersion(x))).orElse(OptionalInt.empty())));
        if (v.format() != ModelFormat.GGUF) {
            throw FactoryException.invalidParam("model", v.ref() + " is not a GGUF model; only GGUF models can be planned");
        }
        CapacityEstimator.Request request;
        List<AcceleratorSpec> accelerators = new java.util.ArrayList<>();
        try {
            for (String a : ctx.queryParams("accelerator")) {
                if (!a.strip().equalsIgnoreCase("cpu")) {
                    accelerators.add(AcceleratorSpec.parse(a));
                }
            }
            int prefixCache = Integer.parseInt(Optional.ofNullable(ctx.queryParam("prefixCache")).orElse("0"));
            if (prefixCache < 0 || prefixCache > DeploymentSpec.MAX_PREFIX_CACHE) {
                throw new IllegalArgumentException("prefixCache must be between 0 and "
                        + DeploymentSpec.MAX_PREFIX_CACHE + " sequences, not " + prefixCache);
            }
            request = CapacityEstimator.Request.of(
                    Long.parseLong(Optional.ofNullable(ctx.queryParam("ctx")).orElse("0")),
                    Math.addExact(Integer.parseInt(Optional.ofNullable(ctx.queryParam("parallel")).orElse("1")),
                            prefixCache),
                    CacheType.parse(Optional.ofNullable(ctx.queryParam("cacheType")).orElse("f16")));
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw FactoryException.invalidParam("plan", String.valueOf(e.getMessage()));
        }
        GgufMetadata metadata = registry.ggufMetadata(v);
        CapacityPlan plan = CapacityEstimator.plan(CapacityEstimator.footprint(metadata, request),
                HostMemory.availableOnThisMachine(), accelerators);
        ctx.json(PlanWire.Plan.of(v.ref().toString(), plan));
    }

    private void importPath(Context ctx) {
        Principal by = Authentication.principal(ctx);
        ImportPath body = WireJson.read(ctx.bodyAsBytes(), ImportPath.class);
        String path = body.path();
        Optional<ModelFormat> format = Optional.ofNullable(body.format()).map(ModelFormat::parse);
        ModelRegistry.Placement placement = placement(ctx, name(ctx), Optional.ofNullable(body.project()),
                Optional.ofNullable(body.classification()));
        Path file;
        try {
            file = Path.of(path);
        } catch (java.nio.file.InvalidPathException e) {
            throw FactoryException.invalidParam("path", "invalid path '" + path + "': " + e.getReason());
        }
        if (!file.isAbsolute()) {
            throw FactoryException.invalidParam("path", "the path must be absolute on the server, not '" + path + "'");
        }
        ctx.status(201).json(version(registry.importPath(name(ctx), file, format, by,
                placement.signed(namedSignature(body.signature())))));
    }

    /** The signature bundle named on the server, or null: the registry then takes {@code FILE.sig} beside the file. */
    static byte @Nullable [] namedSignature(@Nullable String named) {
        if (named == null) {
            return null;
        }
        Path bundle;
        try {
            bundle = Path.of(named);
        } catch (java.nio.file.InvalidPathException e) {
            throw FactoryException.invalidParam("signature", "invalid path '" + named + "': " + e.getReason());
        }
        if (!bundle.isAbsolute() || !java.nio.file.Files.isRegularFile(bundle)) {
            throw FactoryException.invalidParam("signature", "the signature must be an absolute path to a file on "
                    + "the server: " + named);
        }
        try {
            if (java.nio.file.Files.size(bundle) > 16 * 1024 * 1024) {
                throw FactoryException.invalidParam("signature", "the signature bundle " + bundle + " is larger than "
                        + "16 MiB; it is not one");
            }
            return java.nio.file.Files.readAllBytes(bundle);
        } catch (IOException e) {
            throw FactoryException.invalidParam("signature", "cannot read the signature bundle " + bundle + ": "
                    + e.getMessage());
        }
    }

    /**
     * Model names are the site's, not a project's: a name another project's model holds cannot be imported under,
     * and the answer says only that (a 403 would say whose it is).
     */
    static FactoryException nameTaken(ModelName name) {
        return FactoryException.about(ErrorCode.CONFLICT, "model", "the model name '" + name + "' is taken; "
                + "import under another name");
    }

    private static ModelName name(Context ctx) {
        return new ModelName(ctx.pathParam("namespace"), ctx.pathParam("model"));
    }

    private static ModelRef ref(Context ctx) {
        return new ModelRef(name(ctx), OptionalInt.of(ModelRef.parseVersion(ctx.pathParam("version"))));
    }

    private static Deleted deleted(List<ModelVersion> versions) {
        return new Deleted(versions.stream().map(v -> v.ref().toString()).toList());
    }

    ModelWire.Model model(Model m) {
        return new ModelWire.Model(m.name().toString(), m.project(), m.classification(), m.createdAt(),
                m.createdBy(), m.latest().version(), m.versions().stream().map(this::version).toList());
    }

    Version version(ModelVersion v) {
        return new Version(v.model().toString(), v.version(), v.format().id(), v.sizeBytes(),
                v.files().stream().map(f -> new ModelWire.File(f.path(), f.sha256(), f.size())).toList(),
                v.importedAt(), v.importedBy(), v.source(), v.metadata(), registry.signatures()
                .find(v.model(), v.version()).map(s -> new ModelWire.Signature(s.signer(), s.verifiedAt()))
                .orElse(null));
    }
}
