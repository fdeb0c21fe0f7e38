package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.admin.DatasetWire;
import ai.factory.api.codec.admin.DatasetWire.DatasetList;
import ai.factory.api.codec.admin.DatasetWire.Deleted;
import ai.factory.models.Model;
import ai.factory.security.Action;
import ai.factory.security.Resource;
import ai.factory.tenancy.Projects;
import ai.factory.training.Dataset;
import ai.factory.training.DatasetName;
import ai.factory.training.Datasets;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * Fine-tuning datasets over HTTP: {@code /api/v1/datasets}. An upload's body is the JSON Lines file itself, streamed
 * ({@code PUT /api/v1/datasets/NS/NAME?project=&classification=}); it is stored only when every record is valid, and
 * a refusal lists the errors with their line numbers.
 */
public final class DatasetsResource implements Routes {
    private static final String DATASET = "/api/v1/datasets/{namespace}/{name}";
    private static final long DISCARD_LIMIT = 64L << 20;

    private final Datasets datasets;
    private final Projects projects;
    private final Access access;

    public DatasetsResource(Datasets datasets, Projects projects, Access access) {
        this.datasets = requireNonNull(datasets, "datasets is null");
        this.projects = requireNonNull(projects, "projects is null");
        this.access = requireNonNull(access, "access is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/datasets", Action.READ_DATASET, Contract.of("List the datasets the caller may read", null,
                DatasetList.class), ctx -> ctx.json(new DatasetList(datasets.list().stream()
                .filter(d -> access.allows(ctx, Action.READ_DATASET, resource(d)))
                .map(DatasetsResource::wire).toList())));
        routes.get(DATASET, Action.READ_DATASET, Contract.of("Show a dataset: format, records, size, digest", null,
                DatasetWire.Dataset.class), ctx -> ctx.json(wire(dataset(ctx, Action.READ_DATASET))));
        // The upload's body is the JSON Lines file itself, streamed, not JSON.
        routes.put(DATASET, Action.UPLOAD_DATASET, Contract.of(
                "Upload a JSON Lines dataset (Bedrock text or conversation, or OpenAI chat records)", null,
                DatasetWire.Dataset.class), this::upload);
        routes.delete(DATASET, Action.DELETE_DATASET, Contract.of("Delete a dataset", null, Deleted.class), ctx -> {
            Dataset d = dataset(ctx, Action.DELETE_DATASET);
            ctx.json(new Deleted(datasets.delete(d.name()).name().toString()));
        });
    }

    /**
     * Everything that can be refused is checked before the body is touched (the name, the project and the right to
     * upload there, the declared size), so a client sending {@code Expect: 100-continue} gets the refusal without
     * sending the file.
     */
    private void upload(Context ctx) throws IOException {
        DatasetName name = name(ctx);
        Optional<String> project = Optional.ofNullable(ctx.queryParam("project"));
        String target = project.orElse(access.caller(ctx).project());
        Datasets.Placement placement = new Datasets.Placement(project.orElse(null), ctx.queryParam("classification"));
        projects.get(target);
        access.require(ctx, Action.UPLOAD_DATASET, new Resource.Project(target));
        // The dataset as it will be, so that site policies on classifications decide before anything is read.
        access.require(ctx, Action.UPLOAD_DATASET, new Resource.Dataset(name.toString(), target,
                Optional.ofNullable(placement.classification()).orElse(Model.DEFAULT_CLASSIFICATION)),
                () -> Projects.notFound(target));
        long declared = ctx.req().getContentLengthLong();
        datasets.checkUpload(name, declared);
        InputStream body = ctx.req().getInputStream();
        Dataset d;
        try {
            d = datasets.upload(name, body, declared, placement, access.caller(ctx));
        } catch (FactoryException e) {
            if (e.code() == ErrorCode.PAYLOAD_TOO_LARGE || e.code() == ErrorCode.INSUFFICIENT_STORAGE) {
                RefusedBodies.discardRest(body, DISCARD_LIMIT);
            }
            throw e;
        }
        ctx.status(201).json(wire(d));
    }

    /** The dataset the path names, once the caller may do the action on it; one it may not see answers as missing. */
    private Dataset dataset(Context ctx, Action action) {
        DatasetName name = name(ctx);
        Dataset d = datasets.find(name).orElseThrow(() -> Datasets.notFound(name));
        access.require(ctx, action, resource(d), () -> Datasets.notFound(name));
        return d;
    }

    private static DatasetName name(Context ctx) {
        return new DatasetName(ctx.pathParam("namespace"), ctx.pathParam("name"));
    }

    private static Resource.Dataset resource(Dataset d) {
        return new Resource.Dataset(d.name().toString(), d.project(), d.classification());
    }

    private static DatasetWire.Dataset wire(Dataset d) {
        return new DatasetWire.Dataset(d.name().toString(), d.id(), d.project(), d.format().id(), d.records(),
                d.sizeBytes(), d.sha256(), d.classification(), d.createdAt(), d.createdBy());
    }
}
