import { useReactFlow } from "@xyflow/react";
import type { DragEvent } from "react";
import { CATEGORY_TITLES, specsByCategory } from "../model/catalog";
import type { NodeCategory, NodeType } from "../model/catalog";
import { useEditorStore } from "../store";
import { NODE_DRAG_TYPE } from "./dnd";

const CATEGORIES: NodeCategory[] = ["source", "transform", "sink"];

/** Node types grouped as Sources / Transforms / Sinks; drag one onto the canvas (or press Enter) to add it. */
export function Palette() {
  const addNode = useEditorStore((s) => s.addNode);
  const { screenToFlowPosition } = useReactFlow();

  const onDragStart = (event: DragEvent, type: NodeType) => {
    event.dataTransfer.setData(NODE_DRAG_TYPE, type);
    event.dataTransfer.setData("text/plain", type);
    event.dataTransfer.effectAllowed = "move";
  };

  const addAtCenter = (type: NodeType) => {
    const canvas = document.querySelector('[data-testid="canvas"]');
    const rect = canvas?.getBoundingClientRect();
    const center = rect ? { x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 } : { x: 400, y: 300 };
    addNode(type, screenToFlowPosition(center));
  };

  return (
    <aside className="palette" aria-label="Node palette">
      {CATEGORIES.map((category) => (
        <section key={category}>
          <h3>{CATEGORY_TITLES[category]}</h3>
          <ul>
            {specsByCategory(category).map((spec) => (
              <li
                key={spec.type}
                data-testid={`palette-${spec.type}`}
                className={`palette-item category-${category}`}
                draggable
                tabIndex={0}
                title={`${spec.description} Drag onto the canvas, or press Enter.`}
                onDragStart={(event) => onDragStart(event, spec.type)}
                onKeyDown={(event) => {
                  if (event.key === "Enter") addAtCenter(spec.type);
                }}
              >
                <span className="palette-title">{spec.title}</span>
                <span className="palette-type">{spec.type}</span>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </aside>
  );
}
