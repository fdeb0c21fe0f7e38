package ai.factory.api.codec.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** {@code /api/v1/bundles}: signed bundles of models and of the factory itself, for sites without a network. */
public final class BundleWire {
    private BundleWire() {}

    /**
     * {@code POST /api/v1/bundles/export}: the bundle, streamed ({@code application/zip}).
     *
     * @param models the models to carry, {@code NS/MODEL} (the latest version) or {@code NS/MODEL:VERSION}
     * @param runtime whether to carry the factory itself: its launcher, jar and libraries, and llama.cpp natives
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Export(@Nullable List<String> models, @Nullable Boolean runtime) {
        public List<String> modelsOrNone() {
            return models == null ? List.of() : models;
        }
    }

    /**
     * {@code POST /api/v1/bundles/import}: a bundle that lies on the server (the air-gapped site's medium, mounted
     * there).
     *
     * @param path absolute, on the server
     * @param project where new models go; default: the caller's
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Import(String path, @Nullable String project) {
        public Import {
            Required.field(path, "path");
        }
    }

    /**
     * What an import registered.
     *
     * @param signer who signed the bundle, as verified
     * @param runtime whether the bundle also carries the factory (which {@code factory bundle install} installs)
     */
    public record Imported(String signer, List<ModelWire.Version> models, boolean runtime) {}
}
