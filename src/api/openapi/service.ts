/**
 * Builds the OpenAPI 3.1 document of every route from the zod schemas the routers validate with.
 * Schemas given an id with `.meta({ id })` become shared components (JSON Schema 2020-12, as 3.1 uses).
 */
import { z } from "zod";
import { ErrorEnvelope } from "../error-envelope.js";
import type { RouteDoc } from "../route-doc.js";

export interface OpenApiDocumentOptions {
  readonly routes: readonly RouteDoc[];
  readonly version: string;
}

type JsonSchema = Record<string, unknown>;

const COMPONENT_PREFIX = "#/components/schemas/";

export function buildOpenApiDocument({ routes, version }: OpenApiDocumentOptions): Record<string, unknown> {
  const components: Record<string, JsonSchema> = {};
  // every schema with an id (the wire schemas' `.meta({ id })`), converted together so references resolve
  const converted = z.toJSONSchema(z.globalRegistry, { uri: (id) => `${COMPONENT_PREFIX}${id}` }).schemas as Record<
    string,
    JsonSchema
  >;
  for (const [id, { $schema: _schema, $id: _id, ...schema }] of Object.entries(converted)) components[id] = schema;
  const ref = (schema: z.ZodType): JsonSchema => {
    const id = z.globalRegistry.get(schema)?.id;
    if (id) return { $ref: `${COMPONENT_PREFIX}${id}` };
    const { $schema: _schema, ...inline } = z.toJSONSchema(schema) as JsonSchema;
    return inline;
  };
  // Requests accept unknown fields (they are ignored), so their objects are open.
  for (const route of routes) {
    const id = route.request && z.globalRegistry.get(route.request)?.id;
    if (id) delete components[id]!.additionalProperties;
  }

  /** A query object's fields as parameters, as a client writes them: strings, the schemas' input side. */
  const queryParameters = (query: z.ZodObject): JsonSchema[] =>
    Object.entries(query.shape).map(([name, field]) => {
      const optional = field as z.ZodType;
      const inner = optional instanceof z.ZodOptional ? (optional.unwrap() as z.ZodType) : optional;
      const description = z.globalRegistry.get(optional)?.description ?? z.globalRegistry.get(inner)?.description;
      const id = z.globalRegistry.get(inner)?.id;
      // a shared schema (ProofStatus) by reference, as the rest of the document does
      const {
        $schema: _schema,
        description: _description,
        ...schema
      } = id ? { $ref: `${COMPONENT_PREFIX}${id}` } : (z.toJSONSchema(inner, { io: "input" }) as JsonSchema);
      return {
        name,
        in: "query",
        required: !(optional instanceof z.ZodOptional),
        ...(description ? { description } : {}),
        schema,
      };
    });

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const content: Record<string, unknown> = {
      [route.contentType ?? "application/json"]: { schema: ref(route.response) },
    };
    if (route.streamEvent) {
      content["text/event-stream"] = {
        schema: {
          type: "string",
          description: "with `stream: true`: events `data: <JSON of the item schema>`, then `data: [DONE]`",
        },
        itemSchema: ref(route.streamEvent),
      };
    }
    const parameters = [
      ...(route.path.includes("{id}") ? [{ name: "id", in: "path", required: true, schema: { type: "string" } }] : []),
      ...(route.query ? queryParameters(route.query) : []),
    ];
    paths[route.path] ??= {};
    paths[route.path]![route.method] = {
      summary: route.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.request
        ? { requestBody: { required: true, content: { "application/json": { schema: ref(route.request) } } } }
        : {}),
      responses: {
        "200": { description: "OK", content },
        default: { description: "Error", content: { "application/json": { schema: ref(ErrorEnvelope) } } },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "proofgate", version, description: "OpenAI-compatible gateway of provable models" },
    components: { schemas: components, securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    security: [{ bearer: [] }],
    paths,
  };
}
