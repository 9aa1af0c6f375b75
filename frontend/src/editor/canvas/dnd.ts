/** The drag-and-drop payload type used between the palette and the canvas. */
export const NODE_DRAG_TYPE = "application/x-studio-node-type";
