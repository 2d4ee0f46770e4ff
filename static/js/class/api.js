/** The live class's API calls, each with its class token as `Authorization: Bearer`, so no token ever sits in a link. */
import { ApiError } from "../common/api.js";

const BASE = "/api/v1/classes";

/** The JSON answer of `method path` (under /api/v1/classes), or an ApiError with the API's detail. */
export async function classCall(method, path, { token = null, body = undefined } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    // an error page that is not JSON: the status alone says what went wrong
  }
  if (!response.ok) throw new ApiError(response.status, payload?.detail);
  return payload;
}

/** The class's answers as CSV text (teacher). */
export async function answersCsv(classId, token) {
  const response = await fetch(`${BASE}/${classId}/answers.csv`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new ApiError(response.status, null);
  return response.text();
}
