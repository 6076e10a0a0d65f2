/** Runs check() in workerd: every request answers with its summary as JSON. */
import { check } from './check.js'

export default {
  async fetch(): Promise<Response> {
    try {
      return Response.json(await check())
    } catch (error) {
      return new Response(error instanceof Error ? (error.stack ?? error.message) : String(error), { status: 500 })
    }
  },
}
