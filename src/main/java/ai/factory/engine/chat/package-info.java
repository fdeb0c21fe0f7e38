/**
 * Chat prompts: models' Jinja chat templates rendered for each request, and the tool-call formats they define.
 */
@NullMarked
package ai.factory.engine.chat;

import org.jspecify.annotations.NullMarked;
