@NullMarked
package ai.factory.api.admin;

import org.jspecify.annotations.NullMarked;
