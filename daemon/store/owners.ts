// The owner columns volumes and datasets share: a user (owner_id) or a team, never both.
export type OwnedBy = { owner_id: string; team?: undefined } | { team: string; owner_id?: undefined };
