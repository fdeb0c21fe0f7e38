package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.BundleWire;
import ai.factory.identity.Principal;
import ai.factory.models.ModelRef;
import ai.factory.models.bundle.ModelBundles;
import ai.factory.security.Action;
import ai.factory.tenancy.Projects;
import io.javalin.http.Context;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Signed bundles over HTTP, for sites without a network: {@code POST /api/v1/bundles/export} streams one (models,
 * and the factory itself when asked), signed with the site's key; {@code POST /api/v1/bundles/import} verifies one
 * that lies on the server whole, then registers its models. Site admins only: an export carries models' weights
 * in the clear, and an import reads a file on the server.
 */
public final class BundlesResource implements Routes {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(BundlesResource.class);

    private final ModelBundles bundles;
    private final ModelsAdminResource models;
    private final Projects projects;
    private final Access access;
    private final Supplier<ModelBundles.Runtime> runtime;
    private final String factory;

    /**
     * @param runtime the factory as this process runs it, asked for only when an export carries it
     * @param factory this factory's version and commit, as a bundle names its exporter
     */
    public BundlesResource(ModelBundles bundles, ModelsAdminResource models, Projects projects, Access access,
                           Supplier<ModelBundles.Runtime> runtime, String factory) {
        this.bundles = requireNonNull(bundles, "bundles is null");
        this.models = requireNonNull(models, "models is null");
        this.projects = requireNonNull(projects, "projects is null");
        this.access = requireNonNull(access, "access is null");
        this.runtime = requireNonNull(runtime, "runtime is null");
        this.factory = requireNonNull(factory, "factory is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/api/v1/bundles/export", Action.EXPORT_BUNDLE, Contract.of("Export models, and the factory "
                + "itself, as one bundle signed with the site's key (application/zip)", BundleWire.Export.class,
                null), this::export);
        routes.post("/api/v1/bundles/import", Action.IMPORT_BUNDLE, Contract.of("Verify a bundle on the server whole, "
                + "then register its models", BundleWire.Import.class, BundleWire.Imported.class), this::importBundle);
    }

    private void export(Context ctx) throws IOException {
        BundleWire.Export body = WireJson.read(ctx.bodyAsBytes(), BundleWire.Export.class);
        List<ModelRef> refs = new ArrayList<>();
        for (String m : body.modelsOrNone()) {
            ModelRef ref = ModelRef.parse(m);
            access.model(ctx, Action.EXPORT_BUNDLE, ref.name());
            refs.add(ref);
        }
        ModelBundles.Export export = bundles.prepare(refs, Boolean.TRUE.equals(body.runtime()) ? runtime.get() : null,
                factory, Authentication.principal(ctx));
        ctx.status(200).contentType("application/zip").header("Content-Disposition",
                "attachment; filename=\"factory-bundle.zip\"");
        OutputStream out = ctx.res().getOutputStream();
        try {
            export.writeTo(out);
        } catch (IOException | RuntimeException e) {
            if (!ctx.res().isCommitted()) {
                ctx.res().resetBuffer(); // nothing sent yet: the error answer alone, in the API's shape
                throw e;
            }
            // Part of the bundle is out: the connection is cut, so that no client takes what arrived for a whole
            // response (the archive has no end either, and verifies nowhere).
            LOG.error("an export failed after {} began to receive it; its connection is cut", Authentication
                    .principal(ctx).name(), e);
            ServletContextRequest.getServletContextRequest(ctx.req()).getServletChannel().abort(e);
            return;
        }
        out.close();
    }

    private void importBundle(Context ctx) throws IOException {
        BundleWire.Import body = WireJson.read(ctx.bodyAsBytes(), BundleWire.Import.class);
        Principal by = Authentication.principal(ctx);
        Path file;
        try {
            file = Path.of(body.path());
        } catch (java.nio.file.InvalidPathException e) {
            throw FactoryException.invalidParam("path", "invalid path '" + body.path() + "': " + e.getReason());
        }
        if (!file.isAbsolute() || !Files.isRegularFile(file)) {
            throw FactoryException.invalidParam("path", "the bundle must be an absolute path to a file on the server: "
                    + body.path());
        }
        if (body.project() != null) {
            projects.get(body.project());
        }
        ModelBundles.Imported imported = bundles.importBundle(file, body.project(), by);
        ctx.status(201).json(new BundleWire.Imported(imported.signer(), imported.versions().stream()
                .map(models::version).toList(), imported.carriesRuntime()));
    }
}
