package ai.factory.config;

import ai.factory.app.Factory;

/**
 * A deliberate upward dependency (configuration reaching for the composition root), for the test that the layering
 * rules catch one. Test sources are never part of the rules' own check.
 */
final class LayeringViolationFixture {
    private LayeringViolationFixture() {}

    static String reachUp() {
        return Factory.class.getSimpleName(); // a class literal: constants would be inlined, leaving no dependency
    }
}
