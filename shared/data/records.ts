/**
 * Canonical records as ingestion cleans them and everything downstream (feature store, training, serving)
 * reads them: the contract between the drop folder and the rest.
 */

/** A cleaned interaction, in canonical form. */
export interface InteractionRow {
  readonly user_id: string;
  readonly item_id: string;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly event_type: string;
  readonly event_value?: number;
}

/** One attribute value: a number where numeric, text, or a list of texts for the mapping's `lists` columns. */
export type EntityAttribute = string | number | readonly string[];

/** A cleaned user or item row: its id plus attributes. */
export interface EntityRow {
  readonly id: string;
  readonly attributes: Record<string, EntityAttribute>;
}
