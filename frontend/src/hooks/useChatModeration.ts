// TanStack Query hooks for a stream's chat moderation (docs/web.md, the chat service's REST API:
// services/chat .../http/routes.py). Every change refreshes the lists of bans and moderators; the
// chat's `moderation` frames refresh them for the other moderators (ChatPanel).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { banChatUser, deleteChatMessage, getChatBans, getChatModerators, getChatRoom, setChatModerator, setSlowMode, unbanChatUser } from '../lib/api/streams'

export const chatKeys = {
  room: (id: string) => ['chat', id, 'room'] as const,
  bans: (id: string) => ['chat', id, 'bans'] as const,
  moderators: (id: string) => ['chat', id, 'moderators'] as const,
  all: (id: string) => ['chat', id] as const,
}

/** The chat room (owner, slow mode), for anyone who may read the chat. */
export function useChatRoomQuery(streamId: string, enabled = true) {
  return useQuery({ queryKey: chatKeys.room(streamId), queryFn: () => getChatRoom(streamId), enabled, retry: false })
}

/** Active bans and timeouts (owner and moderators). */
export function useChatBansQuery(streamId: string, enabled = true) {
  return useQuery({ queryKey: chatKeys.bans(streamId), queryFn: async () => (await getChatBans(streamId)).items, enabled, retry: false })
}

/** The moderators the owner named (owner and moderators may read it). */
export function useChatModeratorsQuery(streamId: string, enabled = true) {
  return useQuery({ queryKey: chatKeys.moderators(streamId), queryFn: async () => (await getChatModerators(streamId)).items.map((m) => m.userId), enabled, retry: false })
}

/** A moderation step; after it, every chat query of the stream is read again. */
export type ModerationStep =
  | { kind: 'ban'; userId: string; durationSeconds?: number; reason?: string }
  | { kind: 'unban'; userId: string }
  | { kind: 'slowMode'; seconds: number }
  | { kind: 'moderator'; userId: string; present: boolean }
  | { kind: 'delete'; messageId: string }

function apply(streamId: string, step: ModerationStep): Promise<unknown> {
  switch (step.kind) {
    case 'ban':
      return banChatUser(streamId, step.userId, step.durationSeconds, step.reason)
    case 'unban':
      return unbanChatUser(streamId, step.userId)
    case 'slowMode':
      return setSlowMode(streamId, step.seconds)
    case 'moderator':
      return setChatModerator(streamId, step.userId, step.present)
    case 'delete':
      return deleteChatMessage(streamId, step.messageId)
  }
}

export function useModerationMutation(streamId: string) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (step: ModerationStep) => apply(streamId, step),
    onSettled: () => void qc.invalidateQueries({ queryKey: chatKeys.all(streamId) }),
  })
}
