@NullMarked
package ai.factory.models;

import org.jspecify.annotations.NullMarked;
