package ai.factory.api;

import io.javalin.config.RoutesConfig;

/** A group of HTTP endpoints that registers itself on the server's routing. */
@FunctionalInterface
public interface Routes {
    void addTo(RoutesConfig routes);
}
