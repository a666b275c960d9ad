package io.rollout.policy.text.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@code namespace(...)} returns: the one object whose attributes a template may set
 * ({@code set ns.attr = ...}), so a value can leave a loop body.
 */
final class Namespace {

    final Map<String, Object> attrs = new LinkedHashMap<>();
}
