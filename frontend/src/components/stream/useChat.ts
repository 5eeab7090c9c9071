// The chat WebSocket of one stream: connects on the page's origin (the edge's /ws/), feeds frames to
// chatReducer, reconnects with backoff and `lastSeq` so no message is lost or doubled.
import { useCallback, useEffect, useReducer, useRef } from 'react'
import { chatTicket } from '../../lib/api/streams'
import { getToken } from '../../lib/auth'
import { chatReducer, chatSocketUrl, initialChatState, type ChatFrame } from '../../lib/chat/reducer'

export function useChat(streamId: string) {
  const [state, dispatch] = useReducer(chatReducer, initialChatState)
  const ws = useRef<WebSocket | null>(null)
  const lastSeq = useRef<number | null>(null)
  lastSeq.current = state.lastSeq

  useEffect(() => {
    let closed = false
    let attempt = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    const retry = (delay: number) => {
      if (!closed) timer = setTimeout(connect, delay)
    }
    const connect = async () => {
      let ticket: string | null = null
      if (getToken()) {
        try {
          ticket = (await chatTicket(streamId)).ticket // the token itself never goes in the URL
        } catch {
          attempt++
          retry(3000) // no chat room yet (it opens when the stream starts) or the API is unreachable
          return
        }
      }
      if (closed) return
      const sock = new WebSocket(chatSocketUrl(window.location.origin, streamId, ticket, lastSeq.current))
      ws.current = sock
      sock.onopen = () => {
        attempt = 0
        dispatch({ type: 'connected' })
      }
      sock.onmessage = (e) => {
        try {
          dispatch(JSON.parse(String(e.data)) as ChatFrame)
        } catch {
          /* not a frame we know */
        }
      }
      sock.onclose = (e) => {
        dispatch({ type: 'disconnected' })
        ws.current = null
        if (closed) return
        // 4404: no chat room yet (it opens when the stream starts): look again every 3 s
        attempt++
        retry(e.code === 4404 ? 3000 : Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)))
      }
    }
    void connect()
    return () => {
      closed = true
      if (timer) clearTimeout(timer)
      ws.current?.close(1000)
    }
  }, [streamId])

  const send = useCallback((text: string) => {
    const sock = ws.current
    if (!sock || sock.readyState !== WebSocket.OPEN) return false
    sock.send(JSON.stringify({ type: 'post', text, nonce: Math.random().toString(36).slice(2) }))
    return true
  }, [])

  return { state, send }
}
